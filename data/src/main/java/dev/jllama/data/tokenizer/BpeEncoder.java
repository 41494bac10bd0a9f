package dev.jllama.data.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * SentencePiece's BPE segmentation (bpe_model.cc, 0.1.97) over normalized code points. SentencePiece repeatedly
 * merges the adjacent symbol pair whose concatenation is a vocabulary piece with the highest score, breaking
 * ties by the leftmost position; this class does the same with a merge table keyed by the two symbol ids and a
 * binary heap of candidate pairs. Text is cut before every ▁ that follows a non-▁ character when no piece spans
 * such a boundary (true for every model SentencePiece's trainer writes), which leaves the result unchanged —
 * no merge can cross the cut — and lets each whitespace-delimited piece be cached.
 */
final class BpeEncoder {
    private static final int SPACE = Normalizer.SPACE_SYMBOL;
    private static final int CACHEABLE_LENGTH = 64;

    private final int vocab;
    private final float[] scores;
    private final boolean[] unused;
    private final int unkId;
    private final boolean byteFallback;
    private final int[] byteIds = new int[256];
    /** Symbol id of each BMP character: a piece id, an extra id (>= vocab) or -1 when it cannot merge. */
    private final int[] bmpSymbol = new int[0x10000];
    private final Map<Integer, Integer> astralSymbol = new HashMap<>();
    /** Code point of each extra symbol (characters found inside pieces that are not pieces themselves). */
    private final int[] extraCodePoint;
    private final int[] symbolLength;
    private final LongIntMap merges;
    /** Id that SentencePiece's PieceToId gives a single character that is not a mergeable piece. */
    private final Map<Integer, Integer> reservedSingleChars = new HashMap<>();
    /** User-defined pieces by first code point, longest first; matched greedily and never merged. */
    private final Map<Integer, List<int[]>> userDefined = new HashMap<>();
    private final Map<String, Integer> userDefinedIds = new HashMap<>();
    private final boolean splittable;
    private final ThreadLocal<State> state = ThreadLocal.withInitial(State::new);

    BpeEncoder(List<Piece> pieces, int unkId, boolean byteFallback, Map<String, Integer> reservedIds) {
        this.vocab = pieces.size();
        this.unkId = unkId;
        this.byteFallback = byteFallback;
        this.scores = new float[vocab];
        this.unused = new boolean[vocab];
        Arrays.fill(bmpSymbol, -1);
        Map<String, Integer> mergeable = new HashMap<>();
        for (int id = 0; id < vocab; id++) {
            Piece p = pieces.get(id);
            scores[id] = p.score() + 0.0f; // -0.0 ties with 0.0, as in C++ float comparison
            if (p.type() == PieceType.NORMAL || p.type() == PieceType.USER_DEFINED || p.type() == PieceType.UNUSED) {
                mergeable.putIfAbsent(p.piece(), id);
                unused[id] = p.type() == PieceType.UNUSED;
            }
            if (p.type() == PieceType.USER_DEFINED) {
                int[] cps = p.piece().codePoints().toArray();
                userDefined.computeIfAbsent(cps[0], k -> new ArrayList<>()).add(cps);
                userDefinedIds.put(p.piece(), id);
            }
        }
        for (List<int[]> list : userDefined.values()) list.sort((a, b) -> b.length - a.length);
        for (int b = 0; b < 256; b++) {
            byteIds[b] = reservedIds.getOrDefault(String.format("<0x%02X>", b), mergeable.getOrDefault(String.format("<0x%02X>", b), unkId));
        }
        for (Map.Entry<String, Integer> e : reservedIds.entrySet()) {
            if (e.getKey().codePointCount(0, e.getKey().length()) == 1) reservedSingleChars.put(e.getKey().codePointAt(0), e.getValue());
        }

        // Symbols: single-character pieces keep their id; other characters that occur inside pieces get extra ids.
        List<Integer> extras = new ArrayList<>();
        boolean cut = true;
        for (Map.Entry<String, Integer> e : mergeable.entrySet()) {
            String s = e.getKey();
            if (s.codePointCount(0, s.length()) == 1) setSymbol(s.codePointAt(0), e.getValue());
        }
        for (String s : mergeable.keySet()) {
            int prev = -1;
            for (int i = 0; i < s.length(); ) {
                int cp = s.codePointAt(i);
                i += Character.charCount(cp);
                if (symbolOf(cp) < 0) {
                    setSymbol(cp, vocab + extras.size());
                    extras.add(cp);
                }
                if (cp == SPACE && prev >= 0 && prev != SPACE) cut = false;
                prev = cp;
            }
        }
        this.splittable = cut;
        this.extraCodePoint = extras.stream().mapToInt(Integer::intValue).toArray();
        this.symbolLength = new int[vocab + extras.size()];
        Arrays.fill(symbolLength, 1);
        for (Map.Entry<String, Integer> e : mergeable.entrySet()) {
            symbolLength[e.getValue()] = e.getKey().codePointCount(0, e.getKey().length());
        }

        // Merge table: every split of every mergeable piece into two symbol strings.
        Map<String, Integer> symbolIds = new HashMap<>(mergeable);
        for (int k = 0; k < extraCodePoint.length; k++) symbolIds.putIfAbsent(Character.toString(extraCodePoint[k]), vocab + k);
        merges = new LongIntMap(vocab * 8);
        for (Map.Entry<String, Integer> e : mergeable.entrySet()) {
            String s = e.getKey();
            for (int i = s.offsetByCodePoints(0, 1); i < s.length(); i = s.offsetByCodePoints(i, 1)) {
                Integer left = symbolIds.get(s.substring(0, i));
                Integer right = symbolIds.get(s.substring(i));
                if (left != null && right != null) merges.putIfAbsent(pairKey(left, right), e.getValue());
            }
        }
    }

    private void setSymbol(int cp, int symbol) {
        if (cp < 0x10000) bmpSymbol[cp] = symbol;
        else astralSymbol.put(cp, symbol);
    }

    private int symbolOf(int cp) {
        if (cp < 0x10000) return bmpSymbol[cp];
        Integer s = astralSymbol.get(cp);
        return s == null ? -1 : s;
    }

    private static long pairKey(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    /** Encodes normalized code points {@code cps[0..n)}; appends ids to {@code out}. */
    void encode(int[] cps, int n, IntList out) {
        State st = state.get();
        if (!splittable) {
            segment(cps, 0, n, out, st);
            return;
        }
        int start = 0;
        for (int i = 1; i <= n; i++) {
            if (i == n || (cps[i] == SPACE && cps[i - 1] != SPACE)) {
                cachedSegment(cps, start, i - start, out, st);
                start = i;
            }
        }
    }

    private void cachedSegment(int[] cps, int off, int len, IntList out, State st) {
        if (len > CACHEABLE_LENGTH) {
            segment(cps, off, len, out, st);
            return;
        }
        int hash = st.cache.hashOf(cps, off, len);
        int[] ids = st.cache.get(cps, off, len, hash);
        if (ids == null) {
            st.scratch.size = 0;
            segment(cps, off, len, st.scratch, st);
            ids = st.scratch.toArray();
            st.cache.put(cps, off, len, hash, ids);
        }
        if (byteFallback) {
            out.addAll(ids);
        } else {
            for (int id : ids) append(out, id);
        }
    }

    /** SentencePiece merges runs of unknown pieces into one {@code <unk>} when byte fallback is off. */
    private void append(IntList out, int id) {
        if (!byteFallback && id == unkId && out.size > 0 && out.data[out.size - 1] == unkId) return;
        out.add(id);
    }

    private void segment(int[] cps, int off, int len, IntList out, State st) {
        st.ensure(len);
        int[] sym = st.sym, next = st.next, prev = st.prev, size = st.size;
        boolean[] frozen = st.frozen;
        int count = 0;
        for (int i = off, end = off + len; i < end; ) {
            int cp = cps[i];
            int matched = userDefined.isEmpty() ? 0 : matchUserDefined(cps, i, end);
            if (matched > 0) {
                sym[count] = userDefinedIds.get(new String(cps, i, matched));
                size[count] = matched;
                frozen[count] = true;
                i += matched;
            } else {
                int s = symbolOf(cp);
                sym[count] = s >= 0 ? s : -1 - cp; // unknown characters keep their code point
                size[count] = 1;
                frozen[count] = s < 0;
                i++;
            }
            prev[count] = count - 1;
            next[count] = count + 1;
            count++;
        }
        if (count == 0) return;
        next[count - 1] = -1;
        Map<Integer, Long> revMerge = null;
        st.heapSize = 0;
        for (int i = 1; i < count; i++) revMerge = maybePush(st, i - 1, i, revMerge);
        while (st.heapSize > 0) {
            long key = st.heapKey[0];
            int right = st.heapRight[0], mergedSize = st.heapMergedSize[0];
            int merged = st.heapMerged[0];
            st.pop();
            int left = Integer.MAX_VALUE - (int) key;
            if (size[left] == 0 || size[right] == 0 || size[left] + size[right] != mergedSize) continue; // stale
            sym[left] = merged;
            size[left] = mergedSize;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            size[right] = 0;
            if (prev[left] >= 0) revMerge = maybePush(st, prev[left], left, revMerge);
            if (next[left] >= 0) revMerge = maybePush(st, left, next[left], revMerge);
        }
        for (int i = 0; i >= 0; i = next[i]) emit(sym[i], out, revMerge);
    }

    private int matchUserDefined(int[] cps, int at, int end) {
        List<int[]> candidates = userDefined.get(cps[at]);
        if (candidates == null) return 0;
        outer:
        for (int[] c : candidates) {
            if (c.length > end - at) continue;
            for (int k = 1; k < c.length; k++) if (cps[at + k] != c[k]) continue outer;
            return c.length;
        }
        return 0;
    }

    private Map<Integer, Long> maybePush(State st, int left, int right, Map<Integer, Long> revMerge) {
        if (st.frozen[left] || st.frozen[right]) return revMerge;
        int merged = merges.get(pairKey(st.sym[left], st.sym[right]));
        if (merged < 0) return revMerge;
        st.push(orderKey(scores[merged], left), right, merged, st.size[left] + st.size[right]);
        if (unused[merged]) {
            if (revMerge == null) revMerge = new HashMap<>();
            revMerge.put(merged, pairKey(st.sym[left], st.sym[right]));
        }
        return revMerge;
    }

    /** Higher score first, then the leftmost pair: one signed long, compared as a max-heap key. */
    private static long orderKey(float score, int left) {
        int bits = Float.floatToIntBits(score);
        if (bits < 0) bits ^= 0x7FFFFFFF;
        return ((long) bits << 32) | (Integer.MAX_VALUE - left);
    }

    private void emit(int symbol, IntList out, Map<Integer, Long> revMerge) {
        if (symbol >= 0 && symbol < vocab) {
            Long parts = unused[symbol] && revMerge != null ? revMerge.get(symbol) : null;
            if (parts != null) { // unused pieces are split back into the pieces that formed them
                emit((int) (parts >>> 32), out, revMerge);
                emit((int) (long) parts, out, revMerge);
            } else {
                append(out, symbol);
            }
            return;
        }
        int cp = symbol < 0 ? -1 - symbol : extraCodePoint[symbol - vocab];
        int id = reservedSingleChars.getOrDefault(cp, unkId);
        if (id == unkId && byteFallback) {
            byte[] buf = new byte[4];
            int n = Utf8.encode(cp, buf, 0);
            for (int k = 0; k < n; k++) out.add(byteIds[buf[k] & 0xFF]);
        } else {
            append(out, id);
        }
    }

    /** Growable int array. */
    static final class IntList {
        int[] data = new int[64];
        int size;

        void add(int v) {
            if (size == data.length) data = Arrays.copyOf(data, size * 2);
            data[size++] = v;
        }

        void addAll(int[] values) {
            if (size + values.length > data.length) data = Arrays.copyOf(data, Math.max(size * 2, size + values.length));
            System.arraycopy(values, 0, data, size, values.length);
            size += values.length;
        }

        int[] toArray() {
            return Arrays.copyOf(data, size);
        }
    }

    /** Per-thread scratch space and segment cache, so one encoder serves many threads without locks. */
    private static final class State {
        int[] sym = new int[64], next = new int[64], prev = new int[64], size = new int[64];
        boolean[] frozen = new boolean[64];
        long[] heapKey = new long[64];
        int[] heapRight = new int[64], heapMerged = new int[64], heapMergedSize = new int[64];
        int heapSize;
        final IntList scratch = new IntList();
        final SegmentCache cache = new SegmentCache();

        void ensure(int n) {
            if (sym.length >= n) return;
            int cap = Math.max(n, sym.length * 2);
            sym = new int[cap];
            next = new int[cap];
            prev = new int[cap];
            size = new int[cap];
            frozen = new boolean[cap];
        }

        void push(long key, int right, int merged, int mergedSize) {
            if (heapSize == heapKey.length) {
                int cap = heapSize * 2;
                heapKey = Arrays.copyOf(heapKey, cap);
                heapRight = Arrays.copyOf(heapRight, cap);
                heapMerged = Arrays.copyOf(heapMerged, cap);
                heapMergedSize = Arrays.copyOf(heapMergedSize, cap);
            }
            int i = heapSize++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (heapKey[parent] >= key) break;
                move(parent, i);
                i = parent;
            }
            heapKey[i] = key;
            heapRight[i] = right;
            heapMerged[i] = merged;
            heapMergedSize[i] = mergedSize;
        }

        void pop() {
            int last = --heapSize;
            if (last == 0) return;
            long key = heapKey[last];
            int right = heapRight[last], merged = heapMerged[last], mergedSize = heapMergedSize[last];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= last) break;
                if (child + 1 < last && heapKey[child + 1] > heapKey[child]) child++;
                if (heapKey[child] <= key) break;
                move(child, i);
                i = child;
            }
            heapKey[i] = key;
            heapRight[i] = right;
            heapMerged[i] = merged;
            heapMergedSize[i] = mergedSize;
        }

        private void move(int from, int to) {
            heapKey[to] = heapKey[from];
            heapRight[to] = heapRight[from];
            heapMerged[to] = heapMerged[from];
            heapMergedSize[to] = heapMergedSize[from];
        }
    }
}
