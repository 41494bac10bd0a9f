package dev.jllama.model.checkpoint;

import java.util.List;

/**
 * AdamW's moments of every parameter in host memory, in {@link dev.jllama.model.Parameters#all()} order: what a
 * checkpoint stores, whether the moments lived whole on one backend or sharded across ranks.
 */
public record OptimizerState(List<float[]> firstMoments, List<float[]> secondMoments) {
    public OptimizerState {
        firstMoments = List.copyOf(firstMoments);
        secondMoments = List.copyOf(secondMoments);
        if (firstMoments.size() != secondMoments.size()) {
            throw new IllegalArgumentException(firstMoments.size() + " first moments but " + secondMoments.size()
                    + " second moments");
        }
    }
}
