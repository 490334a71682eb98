// Cursor paging over the API's lists (no DOM): the cursors of the pages seen, so "Previous" goes back.

export class Pager {
  /** The cursor that loads each page seen so far; the first page has none. */
  private cursors: (string | undefined)[] = [undefined];
  private index = 0;
  /** The cursor the API gave with the current page: there is a next page. */
  private nextCursor: string | undefined;

  get cursor(): string | undefined {
    return this.cursors[this.index];
  }

  get page(): number {
    return this.index + 1;
  }

  get hasPrevious(): boolean {
    return this.index > 0;
  }

  get hasNext(): boolean {
    return this.nextCursor !== undefined;
  }

  /** Records what the API answered for the current page. */
  loaded(nextCursor: string | undefined): void {
    this.nextCursor = nextCursor === "" ? undefined : nextCursor;
  }

  next(): void {
    if (this.nextCursor === undefined) return;
    this.cursors = [...this.cursors.slice(0, this.index + 1), this.nextCursor];
    this.index += 1;
    this.nextCursor = undefined;
  }

  previous(): void {
    if (this.index > 0) this.index -= 1;
    this.nextCursor = undefined;
  }

  reset(): void {
    this.cursors = [undefined];
    this.index = 0;
    this.nextCursor = undefined;
  }
}
