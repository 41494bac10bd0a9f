package dev.jllama.model;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every parameter placed in one flat vector, in the order the backward pass finishes them
 * ({@link Parameters#backwardGroups()}), so that each group is one contiguous bucket: the unit in which a
 * data-parallel rank all-reduces gradients and, under ZeRO-1, shards the optimizer state.
 */
public final class ParameterLayout {
    /** One group's place in the flat vector: {@code [start, end)}. */
    public record Bucket(int start, int end, List<Parameters.Param> params) {
        public int length() {
            return end - start;
        }
    }

    private final List<Parameters.Param> all;
    private final List<Bucket> buckets = new ArrayList<>();
    private final Map<Parameters.Param, Integer> offsets = new IdentityHashMap<>();
    private final int size;

    public ParameterLayout(Parameters params) {
        this.all = params.all();
        int offset = 0;
        for (List<Parameters.Param> group : params.backwardGroups()) {
            int start = offset;
            for (Parameters.Param p : group) {
                offsets.put(p, offset);
                offset = Math.addExact(offset, p.size());
            }
            buckets.add(new Bucket(start, offset, group));
        }
        this.size = offset;
    }

    public List<Bucket> buckets() {
        return buckets;
    }

    /** Start of {@code param} in the flat vector. */
    public int offset(Parameters.Param param) {
        Integer at = offsets.get(param);
        if (at == null) throw new IllegalArgumentException("parameter " + param.name() + " is not in this layout");
        return at;
    }

    /** Elements in the flat vector: the parameter count. */
    public int size() {
        return size;
    }

    /** The parameters in {@link Parameters#all()} order (checkpoint order). */
    public List<Parameters.Param> params() {
        return all;
    }
}
