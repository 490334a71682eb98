/** Deduplication ids, each claimed for a while by one publish. */
export interface DedupClaims {
  /**
   * Claims a deduplication id until `expiresAt` (epoch ms) with `value`. Returns undefined when the claim
   * was made, or the value of the claim that holds the id and is still live at `now`. With `replacing`,
   * the claim is made only over a live claim holding exactly that value (a compare-and-set).
   */
  claimDedup(
    id: string,
    value: string,
    now: number,
    expiresAt: number,
    replacing?: string,
  ): Promise<string | undefined>;
}
