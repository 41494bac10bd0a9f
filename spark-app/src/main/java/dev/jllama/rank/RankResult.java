package dev.jllama.rank;

import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * What one rank reports when its training ends.
 *
 * @param gpus        the GPU addresses Spark gave the task (empty without GPU scheduling)
 * @param finalLoss   mean loss of the last step over all ranks (null when there was nothing to do)
 * @param tokensPerS  training tokens per second over all ranks, first step (warm-up) excluded
 * @param mfu         model FLOPs utilisation at {@code tokensPerS} over all ranks' peaks (null without a peak)
 * @param peakFlops   this rank's backend's peak FLOP/s, the MFU's denominator (null when it has none)
 * @param valLoss     rank 0: mean validation loss at the end (null when not evaluated)
 * @param valPerplexity rank 0: its perplexity
 * @param valBitsPerByte rank 0: bits per byte of the same windows
 * @param commWaitSeconds time this rank waited for gradient buckets after its backward pass, over the run
 * @param data        rank 0: per-dataset proportions realised by the whole world (empty for one dataset)
 * @param checkpoint  rank 0: the newest complete checkpoint
 * @param firstLoss   mean loss of this run's first step over all ranks (null when there was nothing to do)
 * @param trainableParameters parameters the optimizer updates
 * @param bytesRead   bytes this rank read from the training data's file system, its read-ahead included (0 for
 *                    instruction data, which is read whole)
 * @param bytesTrained bytes of the training tokens this rank trained on (seq_len tokens per window)
 */
public record RankResult(int rank, String host, List<String> gpus, String backend, String device, int startStep, int steps,
                         Double finalLoss, Double tokensPerS, Double mfu, Double peakFlops, Double valLoss, Double valPerplexity,
                         Double valBitsPerByte, long parameters, long activationBytes,
                         long momentBytes, double commWaitSeconds, Map<String, Map<String, Object>> data, String checkpoint,
                         Double firstLoss, long trainableParameters, long bytesRead, long bytesTrained)
        implements Serializable {}
