import type { Command } from 'commander';
import { SwapformerError, type BackendRequest } from '@swapformer/core';
import { generate, loadCheckpoint, tokenizerFor } from '@swapformer/models';
import { createCliSession, startBackend } from '../createCliSession';
import type { CommandRunner } from '../CommandRunner';
import { parseIntegerOption } from '../parseOptions';
import { attentionFromFlags, parseNumberOption } from './attentionFlags';

interface GenerateFlags {
  checkpoint: string;
  prompt?: string;
  promptIds?: string;
  maxNewTokens: string;
  temperature: string;
  topK: string;
  seed: string;
  decoding?: string;
  operator?: string;
  config?: string;
  backend: string;
  json?: boolean;
}

export function registerGenerateCommand(program: Command, run: CommandRunner): void {
  program
    .command('generate')
    .description('generate text with a GPT checkpoint (kv-cache or recurrent-state decoding; prefix recomputation only when allowed)')
    .requiredOption('--checkpoint <dir>', 'GPT-2 style checkpoint folder')
    .option('--prompt <text>', 'prompt text (char vocabulary from the config, else GPT-2 BPE)')
    .option('--prompt-ids <ids>', 'prompt as comma-separated token ids instead of text')
    .option('--max-new-tokens <n>', 'tokens to generate', '50')
    .option('--temperature <t>', '0 = greedy', '1')
    .option('--top-k <k>', 'sample among the k most likely tokens (0 = all)', '0')
    .option('--seed <s>', 'sampling seed', '0')
    .option('--decoding <mode>', '"incremental" or "recompute" (overrides the config)')
    .option('--operator <name>', 'swap this operator into every layer (must support causal masking)')
    .option('--config <file>', 'swap in the attention selection of this config file')
    .option('--backend <name>', 'wasm | cpu | webgpu | tensorflow | auto', 'wasm')
    .option('--json', 'print JSON (token ids, text, decoding mode)')
    .action((opts: GenerateFlags) =>
      run(async () => {
        const maxNewTokens = parseIntegerOption('--max-new-tokens', opts.maxNewTokens, 0, 1 << 20);
        const temperature = parseNumberOption('--temperature', opts.temperature, 0, 100);
        const topK = parseIntegerOption('--top-k', opts.topK, 0, 1 << 24);
        const seed = parseIntegerOption('--seed', opts.seed, 0, 2 ** 31 - 1);
        if (opts.decoding !== undefined && opts.decoding !== 'incremental' && opts.decoding !== 'recompute') {
          throw new SwapformerError('invalid-config', `--decoding must be "incremental" or "recompute", got "${opts.decoding}".`);
        }
        if ((opts.prompt === undefined) === (opts.promptIds === undefined)) throw new SwapformerError('invalid-config', 'give exactly one of --prompt and --prompt-ids.');
        await startBackend(opts.backend as BackendRequest, Boolean(opts.json));
        const { registry } = createCliSession({ seed });
        const model = loadCheckpoint(opts.checkpoint, registry, { attention: attentionFromFlags(opts, registry) });
        try {
          if (model.kind === 'vit') throw new SwapformerError('unsupported', `generate needs a decoder checkpoint (GPT-2, Llama family); "${opts.checkpoint}" is a ViT.`);
          if (model.kind !== 'gpt' && opts.prompt !== undefined) {
            throw new SwapformerError('unsupported', `--prompt needs the checkpoint's tokenizer, which is not read for ${model.kind} checkpoints yet; give the prompt as token ids with --prompt-ids.`);
          }
          const tokenizer = opts.prompt !== undefined && model.kind === 'gpt' ? tokenizerFor(model.modelConfig) : undefined;
          const prompt = tokenizer ? tokenizer.encode(opts.prompt!) : opts.promptIds!.split(',').map((s, i) => parseIntegerOption(`--prompt-ids[${i}]`, s.trim(), 0, model.modelConfig.vocabSize - 1));
          const result = generate(model, [prompt], { maxNewTokens, temperature, topK, seed, decoding: opts.decoding as 'incremental' | 'recompute' | undefined });
          if (result.note) process.stderr.write(`[swapformer] ${result.note}\n`);
          const ids = result.tokens[0];
          const text = tokenizer ? tokenizer.decode(ids) : undefined;
          if (opts.json) process.stdout.write(`${JSON.stringify({ prompt, tokens: ids, text, decoding: result.decoding }, null, 2)}\n`);
          else process.stdout.write(`${text !== undefined ? opts.prompt! + text : [...prompt, ...ids].join(' ')}\n`);
        } finally {
          model.dispose();
        }
      }),
    );
}
