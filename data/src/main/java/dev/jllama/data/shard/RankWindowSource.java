package dev.jllama.data.shard;

import java.io.IOException;

/** One rank's slice of one dataset's global window stream. */
final class RankWindowSource implements WindowSource {
    private final WindowStream stream;
    private final RankSlice slice;
    private final String fingerprint;
    private final String split;
    private final long seed;
    private final long start;
    private long read;

    /** Reads the slice's windows from global index {@code start} on. */
    RankWindowSource(WindowStream stream, RankSlice slice, String fingerprint, String split, long seed, long start) {
        this.stream = stream;
        this.slice = slice;
        this.fingerprint = fingerprint;
        this.split = split;
        this.seed = seed;
        this.start = start;
    }

    @Override
    public int seqLen() {
        return stream.seqLen();
    }

    @Override
    public void next(int[] dst, int count) throws IOException {
        int len = stream.seqLen() + 1;
        if (count < 0 || dst.length < (long) count * len) {
            throw new IllegalArgumentException("dst holds " + dst.length + " ints, " + count + " windows need " + (long) count * len);
        }
        for (int i = 0; i < count; i++) {
            stream.copy(slice.globalIndex(start, read), dst, i * len, x -> slice.firstOwnedAtOrAfter(start, x));
            read++;
        }
    }

    @Override
    public long bytesRead() {
        return stream.bytesRead();
    }

    @Override
    public long bytesTrained() {
        return stream.bytesTrained();
    }

    @Override
    public String position() {
        return WindowPosition.of(fingerprint, split, stream.seqLen(), seed, slice.consumedAtStepBoundary(start, read)).toJson();
    }

    @Override
    public void close() {
        stream.close();
    }
}
