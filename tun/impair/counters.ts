/**
 * What the impairments did, counted per direction (in = towards the stack,
 * out = from the stack) and printed next to the stack's own counters, under
 * names in nstat's style (`ImpairLossDrops`, totals of both directions;
 * `ImpairRule3Hits` for the third rule of a rule file).
 */

export const IMPAIR_COUNTER_NAMES = [
  /** Packets that entered the impairment. */
  'ImpairPackets',
  /** Packets that came out of it (duplicates and injections included). */
  'ImpairDelivered',
  'ImpairLossDrops',
  /** Packets given a nonzero delay by --delay. */
  'ImpairDelayed',
  /** Extra copies sent by --dup. */
  'ImpairDuplicated',
  /** Packets held back by --reorder so that later ones overtake them. */
  'ImpairReordered',
  /** Packets with one bit flipped (--corrupt and the rules' corrupt action). */
  'ImpairCorrupted',
  /** Tail drops of the --rate queue. */
  'ImpairRateDrops',
  'ImpairMtuDrops',
  'ImpairBlackoutDrops',
  /** Rule matches that acted (every rule), then what the actions did. */
  'ImpairRuleHits',
  'ImpairRuleDrops',
  'ImpairRuleDelayed',
  'ImpairRuleDuplicated',
  'ImpairRuleRewritten',
  'ImpairInjected',
  'ImpairRuleBlackouts',
] as const;

export type ImpairCounterName = (typeof IMPAIR_COUNTER_NAMES)[number];
export type ImpairDirectionCounters = Record<ImpairCounterName, number>;

export function newDirectionCounters(): ImpairDirectionCounters {
  const c = {} as ImpairDirectionCounters;
  for (const name of IMPAIR_COUNTER_NAMES) c[name] = 0;
  return c;
}

export class ImpairCounters {
  readonly in = newDirectionCounters();
  readonly out = newDirectionCounters();
  /** Hits of each rule, in file order (index 0 is rule 1). */
  readonly ruleHits: number[];

  constructor(rules: number) {
    this.ruleHits = new Array<number>(rules).fill(0);
  }

  total(name: ImpairCounterName): number {
    return this.in[name] + this.out[name];
  }

  /**
   * Rows for an nstat-style print: every counter (total of both directions),
   * then each rule's hits as `ImpairRuleNHits`; only the nonzero ones unless
   * `all` is set.
   */
  rows(all = false): Array<[string, number]> {
    const rows: Array<[string, number]> = [];
    for (const name of IMPAIR_COUNTER_NAMES) {
      const v = this.total(name);
      if (all || v !== 0) rows.push([name, v]);
    }
    this.ruleHits.forEach((v, i) => {
      if (all || v !== 0) rows.push([`ImpairRule${i + 1}Hits`, v]);
    });
    return rows;
  }
}
