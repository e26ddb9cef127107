// BT.601 limited-range conversion, as ffmpeg's swscale does between yuv420p and RGB by default.
// RGB values are 0–255 here; Y is 16–235 and U, V are 16–240 around 128.

export const Y_FROM_R = 0.256788;
export const Y_FROM_G = 0.504129;
export const Y_FROM_B = 0.097906;
export const U_FROM_R = -0.148223;
export const U_FROM_G = -0.290993;
export const U_FROM_B = 0.439216;
export const V_FROM_R = 0.439216;
export const V_FROM_G = -0.367788;
export const V_FROM_B = -0.071427;

export const LUMA_SCALE = 255 / 219;
export const R_FROM_V = 1.402 * (255 / 224);
export const G_FROM_U = -0.344136 * (255 / 224);
export const G_FROM_V = -0.714136 * (255 / 224);
export const B_FROM_U = 1.772 * (255 / 224);

export function clampByte(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : Math.round(value);
}

export function rgbToY(red: number, green: number, blue: number): number {
  return clampByte(16 + Y_FROM_R * red + Y_FROM_G * green + Y_FROM_B * blue);
}

export function rgbToU(red: number, green: number, blue: number): number {
  return clampByte(128 + U_FROM_R * red + U_FROM_G * green + U_FROM_B * blue);
}

export function rgbToV(red: number, green: number, blue: number): number {
  return clampByte(128 + V_FROM_R * red + V_FROM_G * green + V_FROM_B * blue);
}
