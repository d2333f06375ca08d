/** One data row of a CSV file. */
export interface CsvRow {
  /** Physical line (1-based) where the row starts in the file; a quoted newline does not shift it. */
  readonly line: number;
  /** The row's cells by column name, untrimmed. */
  readonly values: Record<string, string>;
}

/** A CSV file read whole: its header and its non-empty rows, in file order. */
export interface CsvTable {
  /** The path as given, for messages (`people.csv:7: …`). */
  readonly file: string;
  /** The field delimiter used, given or detected. */
  readonly delimiter: string;
  /** Header names, trimmed, in file order; unique case-insensitively. */
  readonly columns: string[];
  readonly rows: CsvRow[];
}
