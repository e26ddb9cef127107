import type { HighlightParams } from '../highlight-params.js';
import { EngagementTopkStrategy } from './engagement-topk-strategy.js';
import type { HighlightStrategy } from './highlight-strategy.js';
import { KeywordsStrategy } from './keywords-strategy.js';

/** Every strategy by its API name; a new one is one row here and one value in the request schema's enum. */
const STRATEGIES: Record<HighlightParams['strategy'], HighlightStrategy> = {
  engagement_topk: new EngagementTopkStrategy(),
  keywords: new KeywordsStrategy(),
};

export function strategyNamed(name: HighlightParams['strategy']): HighlightStrategy {
  return STRATEGIES[name];
}
