/**
 * The rules of one stage, compiled. Many rules share an applicability test (e.g. "the client
 * used a JWT assertion"); those are evaluated once per decision and remembered in `memo`.
 */
import type { Evaluator } from './logic/compile.js';
import { SlotTable } from './logic/node.js';
import { truthy } from './logic/values.js';
import type { CompiledRule } from './rule.js';

const WHEN_UNKNOWN = 0;
const WHEN_TRUE = 1;
const WHEN_FALSE = 2;

export class CompiledStage {
  readonly rules: CompiledRule[] = [];
  /** Every fact path the stage's logic reads; filled once per decision. */
  readonly slots = new SlotTable();
  private readonly buffer: unknown[] = [];
  /** For each rule, the index of its shared `when` test, or -1 when it has none. */
  private readonly whenOf: number[] = [];
  private readonly whens: Evaluator[] = [];
  private readonly keys = new Map<string, number>();
  /** Reused across decisions: evaluation is synchronous, so one buffer per stage suffices. */
  private memo = new Uint8Array(0);

  add(rule: CompiledRule): void {
    this.rules.push(rule);
    if (!rule.when || rule.whenKey === undefined) {
      this.whenOf.push(-1);
      return;
    }
    let slot = this.keys.get(rule.whenKey);
    if (slot === undefined) {
      slot = this.whens.length;
      this.keys.set(rule.whenKey, slot);
      this.whens.push(rule.when);
      this.memo = new Uint8Array(this.whens.length);
    }
    this.whenOf.push(slot);
  }

  /**
   * Starts a decision: forgets the previous one's applicability results and reads every fact
   * path into the slots. The buffer is reused: evaluation is synchronous and never re-entered.
   */
  load(facts: unknown): unknown[] {
    this.memo.fill(WHEN_UNKNOWN);
    return this.slots.load(facts, this.buffer);
  }

  /**
   * The shared `when` result for rule i, evaluated at most once per decision. Throws like the
   * expression does (a missing fact), so the caller can turn that into the rule's violation.
   */
  applies(i: number, slots: unknown[]): boolean {
    const slot = this.whenOf[i] as number;
    if (slot < 0) return true;
    const known = this.memo[slot];
    if (known !== WHEN_UNKNOWN) return known === WHEN_TRUE;
    const result = truthy((this.whens[slot] as Evaluator)(slots));
    this.memo[slot] = result ? WHEN_TRUE : WHEN_FALSE;
    return result;
  }
}
