import { z } from 'zod';
import type { ContainerEngine, StatsSample } from '../engine/port.js';
import { liveQueueLimits, type LiveStreamLimits, type StreamGap } from '../streams/gap.js';
import { FanOutHub } from '../streams/hub.js';
import { createSubscriber } from '../streams/subscriber.js';
import type { LiveTarget } from './live-target.js';
import { parseInput } from './validation.js';

export interface ContainerStatsSample extends StatsSample {
  kind: 'stats';
}

export const followStatsInput = z.object({
  intervalMs: z.number().int().min(1000).max(60_000).default(1000),
});

/** Live resource samples: one upstream engine stream per container, shared by every subscriber. */
export class StatsService {
  readonly hub: FanOutHub<ContainerStatsSample>;
  constructor(
    private readonly engine: ContainerEngine,
    private readonly limits: LiveStreamLimits,
  ) {
    this.hub = new FanOutHub('stats', limits.lingerMs);
  }

  /** Resource samples about every `intervalMs`; ends when the engine ends the stream. */
  async followStats(target: LiveTarget, input: z.input<typeof followStatsInput>) {
    const { intervalMs } = parseInput(followStatsInput, input);
    // The engines sample once a second; allow for jitter so a 1 s interval takes every sample.
    const spacing = intervalMs - 250;
    return createSubscriber<ContainerStatsSample | StreamGap>(liveQueueLimits<ContainerStatsSample>(this.limits.queueBytes, () => null), (sink) => {
      let last = 0;
      return this.hub.join(
        target.id,
        {
          data: (sample) => {
            if (sample.read.getTime() - last < spacing) return;
            last = sample.read.getTime();
            sink.push(sample);
          },
          end: () => sink.end(),
        },
        (handlers) =>
          this.engine.followStats(target.id, {
            data: (sample) => handlers.data({ kind: 'stats', ...sample }),
            end: handlers.end,
          }),
      );
    });
  }
}
