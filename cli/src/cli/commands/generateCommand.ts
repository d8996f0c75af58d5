import type { Command } from 'commander';
import { SwapformerError, type BackendRequest } from '@swapformer/core';
import { generate, loadCheckpoint, readCheckpointTokenizer, resolveCheckpointFolder, tokenizerFor, type GptModel } from '@swapformer/models';
import { createCliSession, startBackend } from '../createCliSession';
import { MATMUL_FLAG, parseMatMulChoice } from '../matMulChoice';
import type { CommandRunner } from '../CommandRunner';
import { parseIntegerOption } from '../parseOptions';
import { ALLOW_UNTRAINED_HELP, allowUntrainedOperators, attentionFromFlags, parseNumberOption } from './attentionFlags';

interface GenerateFlags {
  matmul?: string;
  checkpoint: string;
  revision: string;
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
  allowUntrainedOperators?: boolean;
}

export function registerGenerateCommand(program: Command, run: CommandRunner): void {
  program
    .command('generate')
    .description('generate text with a GPT checkpoint (kv-cache or recurrent-state decoding; prefix recomputation only when allowed)')
    .requiredOption('--checkpoint <dir>', 'GPT-2 style checkpoint folder')
    .option('--revision <ref>', 'in a hub cache folder: the ref (refs/<ref>) or snapshot commit to load', 'main')
    .option('--prompt <text>', "prompt text, tokenized with the checkpoint's tokenizer.json (else the config's char vocabulary, else GPT-2 BPE)")
    .option('--prompt-ids <ids>', 'prompt as comma-separated token ids instead of text')
    .option('--max-new-tokens <n>', 'tokens to generate', '50')
    .option('--temperature <t>', '0 = greedy', '1')
    .option('--top-k <k>', 'sample among the k most likely tokens (0 = all)', '0')
    .option('--seed <s>', 'sampling seed', '0')
    .option('--decoding <mode>', '"incremental" or "recompute" (overrides the config)')
    .option('--operator <name>', 'swap this operator into every layer (must support causal masking)')
    .option('--config <file>', 'swap in the attention selection of this config file')
    .option('--allow-untrained-operators', ALLOW_UNTRAINED_HELP)
    .option('--backend <name>', 'wasm | cpu | webgpu | tensorflow | auto', 'wasm')
    .option(...MATMUL_FLAG)
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
        await startBackend(opts.backend as BackendRequest, Boolean(opts.json), parseMatMulChoice(opts.matmul));
        const { registry } = createCliSession({ seed });
        const dir = resolveCheckpointFolder(opts.checkpoint, opts.revision);
        // read before the (slow) load, so a tokenizer.json we cannot use fails at once; a checkpoint's own
        // tokenizer.json wins: hub checkpoints ship one, the project's own name theirs in config.json
        const hf = opts.prompt !== undefined ? readCheckpointTokenizer(dir) : undefined;
        const model = loadCheckpoint(dir, registry, { attention: attentionFromFlags(opts, registry), training: allowUntrainedOperators(opts) });
        try {
          if (model.kind === 'vit') throw new SwapformerError('unsupported', `generate needs a decoder checkpoint (GPT-2 or Llama family); "${opts.checkpoint}" is a ViT.`);
          const { missing } = model.decodingSupport();
          if (missing.length > 0 && (opts.decoding ?? model.modelConfig.decoding) !== 'recompute') {
            // the library's message lists every switch; on the command line only the flag applies
            throw new SwapformerError(
              'unsupported',
              `${missing.map((m) => `layer ${m.layer} ("${m.operator}")`).join(', ')} ${missing.length === 1 ? 'has' : 'have'} no decoding state (capabilities.decoding "none"), so tokens cannot be generated incrementally.\n  Fix: add --decoding recompute (recomputes the whole prefix for every token), or pick an operator with a kv-cache or recurrent state.`,
              { plugin: missing[0].operator, layer: missing[0].layer },
            );
          }
          if (opts.prompt !== undefined && !hf && model.kind !== 'gpt') throw new SwapformerError('invalid-config', `--prompt needs the checkpoint's tokenizer.json for a ${model.modelConfig.variant} model; "${opts.checkpoint}" has none (give --prompt-ids instead).`);
          const tokenizer = opts.prompt !== undefined ? (hf ?? tokenizerFor((model as GptModel).modelConfig)) : undefined;
          const prompt = tokenizer ? tokenizer.encode(opts.prompt!) : opts.promptIds!.split(',').map((s, i) => parseIntegerOption(`--prompt-ids[${i}]`, s.trim(), 0, model.modelConfig.vocabSize - 1));
          const outside = prompt.find((id) => id >= model.modelConfig.vocabSize);
          if (outside !== undefined) throw new SwapformerError('invalid-input', `the tokenizer gives id ${outside}, outside the model's vocabulary (vocabSize ${model.modelConfig.vocabSize}); the checkpoint's tokenizer.json does not match its model.`);
          const result = generate(model, [prompt], { maxNewTokens, temperature, topK, seed, decoding: opts.decoding as 'incremental' | 'recompute' | undefined });
          if (result.note) process.stderr.write(`[swapformer] ${result.note}\n`);
          const ids = result.tokens[0];
          const text = tokenizer ? tokenizer.decode(ids) : undefined;
          if (opts.json) process.stdout.write(`${JSON.stringify({ prompt, tokens: ids, text, decoding: result.decoding }, null, 2)}\n`);
          // SentencePiece-style decoders strip the first token's space: decode prompt and continuation together
          else if (hf) process.stdout.write(`${hf.decode([...prompt, ...ids], { skipSpecialTokens: true })}\n`);
          else process.stdout.write(`${text !== undefined ? opts.prompt! + text : [...prompt, ...ids].join(' ')}\n`);
        } finally {
          model.dispose();
        }
      }),
    );
}
