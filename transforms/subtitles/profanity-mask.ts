/** A small list on purpose: masking is an option for family-friendly streams, not a moderation system. */
const PROFANITY = new Set([
  'arse', 'arsehole', 'ass', 'asshole', 'bastard', 'bastards', 'bitch', 'bitches', 'bollocks', 'bullshit',
  'cock', 'crap', 'cunt', 'damn', 'dick', 'fuck', 'fucked', 'fucker', 'fucking', 'fucks', 'motherfucker',
  'piss', 'pissed', 'prick', 'shit', 'shits', 'shitty', 'slut', 'twat', 'wanker', 'whore',
]);

/** "shit" → "s***": the first letter stays so the sentence still reads. */
export function maskProfanity(word: string): string {
  const lower = word.toLowerCase();
  if (!PROFANITY.has(lower)) return word;
  return word[0] + '*'.repeat(word.length - 1);
}
