import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { SwapformerError } from '@swapformer/core';
import { readJsonFile } from '@swapformer/registry';
import { fromHfConfig, readCheckpointTokenizer, resolveCheckpointFolder, tokenizerFor, TOKENIZER_FILE, type Tokenizer } from '@swapformer/models';
import type { CommandRunner } from '../CommandRunner';

interface TokenizeFlags {
  text: string;
  revision: string;
  json?: boolean;
  specialTokens: boolean;
}

/** The folder's tokenizer.json, else the tokenizer its GPT config names (char vocabulary, GPT-2 BPE). */
function tokenizerOf(dir: string): { tokenizer: Tokenizer; encode: (text: string, addSpecial: boolean) => { ids: number[]; tokens: string[] } } {
  const hf = readCheckpointTokenizer(dir);
  if (hf) return { tokenizer: hf, encode: (text, addSpecialTokens) => hf.encodeWithTokens(text, { addSpecialTokens }) };
  const configFile = path.join(dir, 'config.json');
  if (!fs.existsSync(configFile)) throw new SwapformerError('invalid-input', `"${dir}" has neither ${TOKENIZER_FILE} nor config.json; give a checkpoint folder.`, { path: dir });
  const { config } = fromHfConfig(readJsonFile(configFile) as Record<string, unknown>, configFile);
  if (config.model !== 'gpt') throw new SwapformerError('invalid-input', `"${dir}" is a ViT checkpoint without ${TOKENIZER_FILE}; only text models have a tokenizer.`, { path: dir });
  const tokenizer = tokenizerFor(config);
  return {
    tokenizer,
    encode: (text) => {
      const ids = tokenizer.encode(text);
      return { ids, tokens: ids.map((id) => tokenizer.decode([id])) };
    },
  };
}

export function registerTokenizeCommand(program: Command, run: CommandRunner): void {
  program
    .command('tokenize')
    .description("print a text's token ids (and tokens) with a checkpoint's tokenizer.json (BPE, WordPiece or Unigram), else the tokenizer its config names")
    .argument('<dir>', 'checkpoint folder holding tokenizer.json (or config.json), or a hub cache folder models--org--name')
    .requiredOption('--text <text>', 'the text to tokenize')
    .option('--revision <ref>', 'in a hub cache folder: the ref (refs/<ref>) or snapshot commit to read', 'main')
    .option('--no-special-tokens', 'leave out the special tokens the post-processor adds (BOS, [CLS] … [SEP])')
    .option('--json', 'print {"ids": [...], "tokens": [...], "decoded": "..."}')
    .action((dir: string, opts: TokenizeFlags) =>
      run(async () => {
        const folder = resolveCheckpointFolder(dir, opts.revision);
        const { tokenizer, encode } = tokenizerOf(folder);
        const { ids, tokens } = encode(opts.text, opts.specialTokens);
        const decoded = ids.length ? tokenizer.decode(ids) : '';
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ tokenizer: tokenizer.name, ids, tokens, decoded })}\n`);
          return;
        }
        process.stdout.write(`${ids.join(' ')}\n`);
        process.stdout.write(`${tokens.map((t) => JSON.stringify(t)).join(' ')}\n`);
        process.stderr.write(`[swapformer] ${ids.length} tokens (${tokenizer.name}, vocabulary ${tokenizer.vocabSize})\n`);
      }),
    );
}
