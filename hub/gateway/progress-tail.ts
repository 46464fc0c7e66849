/**
 * The last output of each running task, kept in memory so `GET /v1/tasks/:id` (and
 * `switchyard task show`) can show what a task is doing without a feed subscription. Progress is
 * not durable by design: it is a view of live work, bounded per task and dropped when the task
 * ends; the result carries the final output tail.
 */
export class ProgressTails {
  private readonly tails = new Map<string, { generation: number; text: string }>();

  constructor(
    /** Characters kept per task. @defaultValue 8192 */
    private readonly maxChars = 8192,
    /** Tasks kept at most (oldest dropped first). @defaultValue 10000 */
    private readonly maxTasks = 10_000,
  ) {}

  append(taskId: string, generation: number, items: ReadonlyArray<{ stream: string; data: string }>): void {
    let entry = this.tails.get(taskId);
    if (!entry || entry.generation !== generation) {
      this.tails.delete(taskId);
      entry = { generation, text: '' };
      this.tails.set(taskId, entry);
      if (this.tails.size > this.maxTasks) this.tails.delete(this.tails.keys().next().value!);
    }
    let text = entry.text;
    for (const item of items) text += item.data;
    entry.text = text.length > this.maxChars ? text.slice(text.length - this.maxChars) : text;
  }

  get(taskId: string): { generation: number; text: string } | undefined {
    return this.tails.get(taskId);
  }

  drop(taskId: string): void {
    this.tails.delete(taskId);
  }
}
