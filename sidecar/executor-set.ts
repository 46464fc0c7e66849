/**
 * Builds the executors a sidecar offers from its config. Only executors listed in
 * `config.executors` are created; each says in describe() whether it can run here right now
 * (Ollama: the server answers and lists models; Claude: the CLI runs).
 */
import type { ExecutorName } from '../shared/task.js';
import type { SidecarConfig } from './config.js';
import { ClaudeExecutor } from './executors/claude.js';
import type { Executor } from './executors/executor.js';
import { OllamaExecutor } from './executors/ollama.js';
import { ShellExecutor } from './executors/shell.js';

export function buildExecutors(config: Pick<SidecarConfig, 'executors' | 'ollamaUrl' | 'claudeBinary' | 'claudeModels'>): Map<ExecutorName, Executor> {
  const set = new Map<ExecutorName, Executor>();
  for (const name of config.executors) {
    if (name === 'shell') set.set('shell', new ShellExecutor());
    else if (name === 'ollama') set.set('ollama', new OllamaExecutor({ baseUrl: config.ollamaUrl }));
    else if (name === 'claude') set.set('claude', new ClaudeExecutor({ bin: config.claudeBinary, models: config.claudeModels }));
  }
  return set;
}
