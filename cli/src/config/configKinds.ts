import { type AttentionSpec, attentionSelections, type ConfigKind } from '@swapformer/registry';
import { MODEL_CONFIG_KINDS } from '@swapformer/models';
import { RUN_CONFIG_SCHEMA, type DropInOperator } from '../run/runConfig';
import { TRAIN_CONFIG_SCHEMA } from '../train/trainConfig';

/** Every config kind `swapformer validate` understands, most specific first. */
export const CONFIG_KINDS: readonly ConfigKind[] = [
  {
    name: 'train',
    description: 'training config: {"task": "fashion-mnist" | "sotu", "model": {...}, "attention"?: {...}, "optimizer"?: {...}, "schedule"?: {...}, "output": ...}',
    schemaId: TRAIN_CONFIG_SCHEMA.$id,
    schema: TRAIN_CONFIG_SCHEMA,
    matches: (c) => 'task' in c,
    selections: (c) => {
      const requirements = c.task === 'sotu' ? { causal: true } : {};
      const warm = (c.warmStart as { attention?: AttentionSpec } | undefined)?.attention;
      return [
        ...(c.attention ? attentionSelections(c.attention as AttentionSpec) : []),
        ...(warm ? attentionSelections(warm, '/warmStart/attention') : []),
      ].map((s) => ({ ...s, requirements }));
    },
  },
  {
    name: 'run',
    description: 'main-job config: {"vit"?: {"checkpoint": ..., "swapLayers": ..., "operators": [...]}, "gpt"?: {...}, "seeds"?: [...]}',
    schemaId: RUN_CONFIG_SCHEMA.$id,
    schema: RUN_CONFIG_SCHEMA,
    matches: (c) => ('vit' in c || 'gpt' in c) && !('model' in c),
    // every row's operator names and options, as `run` will resolve them; a GPT row without causal
    // support is not an error (the table reports it as not applicable)
    selections: (c) =>
      (['vit', 'gpt'] as const).flatMap((table) =>
        ((c[table] as { operators?: DropInOperator[] } | undefined)?.operators ?? []).flatMap((op, i) =>
          (op.attention ? attentionSelections(op.attention, `/${table}/operators/${i}/attention`) : op.name ? [{ selection: { name: op.name, ...(op.options ? { options: op.options } : {}) }, path: `/${table}/operators/${i}` }] : []).map((s) => ({ ...s, requirements: {} })),
        ),
      ),
  },
  ...MODEL_CONFIG_KINDS,
];
