package dev.jllama.model.optim;

import dev.jllama.model.ParameterLayout;
import dev.jllama.model.Parameters;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * AdamW over this rank's share of the parameters only (ZeRO stage 1): the rank owns some ranges of the flat
 * {@link ParameterLayout} vector, keeps moments for those elements alone, and updates only them; the other ranks
 * own the rest. Per element it runs the very update {@link AdamW} runs, so a sharded step gives the same bits.
 */
public final class ShardedAdamW implements AutoCloseable {

    /** Part of one parameter that this rank owns: elements {@code [offset, offset + length)}, moments at {@code momentOffset}. */
    public record Segment(Parameters.Param param, int paramIndex, int offset, int momentOffset, int length) {}

    private final Backend backend;
    private final AdamW.Hyper hyper;
    private final List<Segment> segments = new ArrayList<>();
    private final int owned;
    private final Tensor first;
    private final Tensor second;

    /** @param ownedRanges {@code [start, end)} ranges of the flat layout, ascending and disjoint */
    public ShardedAdamW(Backend backend, ParameterLayout layout, List<int[]> ownedRanges, AdamW.Hyper hyper) {
        this.backend = backend;
        this.hyper = hyper;
        List<Parameters.Param> params = layout.params();
        int momentOffset = 0;
        for (int[] range : ownedRanges) {
            for (int i = 0; i < params.size(); i++) {
                Parameters.Param p = params.get(i);
                int pStart = layout.offset(p), pEnd = pStart + p.size();
                int start = Math.max(range[0], pStart), end = Math.min(range[1], pEnd);
                if (start >= end) continue;
                segments.add(new Segment(p, i, start - pStart, momentOffset, end - start));
                momentOffset += end - start;
            }
        }
        this.owned = momentOffset;
        this.first = backend.allocate("adam_m.shard", Math.max(owned, 1));
        this.second = backend.allocate("adam_v.shard", Math.max(owned, 1));
    }

    public List<Segment> segments() {
        return segments;
    }

    /** Elements this rank keeps moments for. */
    public int ownedElements() {
        return owned;
    }

    /** One update of the owned elements (1-based {@code step}; {@code gradScale} from clipping). */
    public void update(double lr, int step, float gradScale) {
        for (Segment s : segments) {
            backend.adamw(s.param().value(), s.param().grad(), s.offset(), first, second, s.momentOffset(), s.length(),
                    hyper.step(lr, step, gradScale, s.param().decay()));
        }
    }

    /** The owned moments in segment order, to host memory: {@code [first, second]}. */
    public float[][] downloadMoments() {
        float[] m = new float[owned], v = new float[owned];
        backend.read(first, 0, m, 0, owned);
        backend.read(second, 0, v, 0, owned);
        return new float[][] {m, v};
    }

    /** Takes this rank's segments out of whole per-parameter moments (in {@link Parameters#all()} order). */
    public void uploadMoments(List<float[]> firstMoments, List<float[]> secondMoments) {
        for (Segment s : segments) {
            backend.write(first, s.momentOffset(), firstMoments.get(s.paramIndex()), s.offset(), s.length());
            backend.write(second, s.momentOffset(), secondMoments.get(s.paramIndex()), s.offset(), s.length());
        }
    }

    @Override
    public void close() {
        backend.free(first);
        backend.free(second);
    }
}
