package dev.jllama.data.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A SentencePiece BPE tokenizer that encodes and decodes exactly as SentencePiece 0.1.97 does for BPE models:
 * ▁ whitespace marker, dummy prefix, removal of extra spaces, identity or precompiled-charsmap normalization
 * (e.g. nmt_nfkc), byte fallback to {@code <0xNN>} pieces, {@code <unk>}, control, user-defined and unused
 * pieces. Immutable and safe to share between threads.
 */
public final class Tokenizer {
    private static final String BUNDLED = "spm-bpe-4096.model";

    private final byte[] modelBytes;
    private final String source;
    private final ModelSpec spec;
    private final String[] pieces;
    private final float[] scores;
    private final PieceType[] types;
    private final int[] byteValue;
    private final int unkId, bosId, eosId, padId;
    private final Normalizer normalizer;
    private final BpeEncoder encoder;
    private final ThreadLocal<Buffers> buffers = ThreadLocal.withInitial(Buffers::new);

    private Tokenizer(byte[] modelBytes, String source) {
        this.modelBytes = modelBytes.clone();
        this.source = source;
        this.spec = ModelProtoCodec.parse(modelBytes, source);
        if (spec.modelType() != ModelSpec.MODEL_TYPE_BPE) {
            throw new IllegalArgumentException(source + ": model_type " + spec.modelType() + " is not supported (only BPE = 2)");
        }
        if (spec.treatWhitespaceAsSuffix()) {
            throw new IllegalArgumentException(source + ": treat_whitespace_as_suffix=true is not supported");
        }
        List<Piece> list = spec.pieces();
        int n = list.size();
        pieces = new String[n];
        scores = new float[n];
        types = new PieceType[n];
        byteValue = new int[n];
        Map<String, Integer> reserved = new HashMap<>();
        Map<String, Integer> all = new HashMap<>();
        int unk = -1;
        for (int i = 0; i < n; i++) {
            Piece p = list.get(i);
            pieces[i] = p.piece();
            scores[i] = p.score();
            types[i] = p.type();
            byteValue[i] = -1;
            if (all.put(p.piece(), i) != null) {
                throw new IllegalArgumentException(source + ": piece '" + p.piece() + "' (id " + i + ") is defined twice");
            }
            switch (p.type()) {
                case UNKNOWN -> {
                    if (unk >= 0) throw new IllegalArgumentException(source + ": two <unk> pieces, ids " + unk + " and " + i);
                    unk = i;
                    reserved.put(p.piece(), i);
                }
                case CONTROL -> reserved.put(p.piece(), i);
                case BYTE -> {
                    byteValue[i] = parseByte(p.piece(), i);
                    reserved.put(p.piece(), i);
                }
                default -> { }
            }
        }
        if (unk < 0) throw new IllegalArgumentException(source + ": the model defines no <unk> piece");
        unkId = unk;
        bosId = idOfType(all, spec.bosPiece(), PieceType.CONTROL);
        eosId = idOfType(all, spec.eosPiece(), PieceType.CONTROL);
        padId = idOfType(all, spec.padPiece(), PieceType.CONTROL);
        List<String> userDefined = new java.util.ArrayList<>();
        for (Piece p : list) if (p.type() == PieceType.USER_DEFINED) userDefined.add(p.piece());
        CharsMap charsMap = spec.precompiledCharsmap().length > 0 ? new CharsMap(spec.precompiledCharsmap(), source) : null;
        normalizer = new Normalizer(spec.addDummyPrefix(), spec.removeExtraWhitespaces(), spec.escapeWhitespaces(),
                charsMap, userDefined);
        encoder = new BpeEncoder(list, unkId, spec.byteFallback(), reserved);
    }

    private int parseByte(String piece, int id) {
        if (piece.length() == 6 && piece.startsWith("<0x") && piece.endsWith(">")) {
            try {
                return Integer.parseInt(piece.substring(3, 5), 16);
            } catch (NumberFormatException ignored) {
                // reported below
            }
        }
        throw new IllegalArgumentException(source + ": byte piece " + id + " is '" + piece + "', expected <0xNN>");
    }

    private int idOfType(Map<String, Integer> all, String piece, PieceType type) {
        Integer id = all.get(piece);
        return id != null && types[id] == type ? id : -1;
    }

    public static Tokenizer load(Path modelFile) throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(modelFile);
        } catch (IOException e) {
            throw new IOException("cannot read tokenizer model " + modelFile + ": " + e.getMessage(), e);
        }
        return fromBytes(bytes, modelFile.toString());
    }

    public static Tokenizer fromBytes(byte[] modelProto, String sourceName) {
        return new Tokenizer(modelProto, sourceName);
    }

    /**
     * One tokenizer per model in this JVM (the last few models asked for), for the tasks of an executor: each task
     * used to parse the model again, and its encoder then started with empty per-thread segment caches, so every
     * task paid the cache misses of its first pieces again (segmentation was a tenth of a preparation job's time).
     */
    public static Tokenizer shared(byte[] modelProto, String sourceName) {
        ByteBuffer key = ByteBuffer.wrap(modelProto.clone());
        synchronized (SHARED) {
            Tokenizer t = SHARED.get(key);
            if (t == null) {
                t = fromBytes(modelProto, sourceName);
                SHARED.put(key, t);
            }
            return t;
        }
    }

    private static final int SHARED_MODELS = 4;
    private static final Map<ByteBuffer, Tokenizer> SHARED = new LinkedHashMap<>(8, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<ByteBuffer, Tokenizer> eldest) {
            return size() > SHARED_MODELS;
        }
    };

    /** The shipped model trained on the nlp-corpus sample (see the NOTICE beside the resource). */
    public static Tokenizer bundled() {
        return BundledHolder.INSTANCE;
    }

    private static final class BundledHolder {
        static final Tokenizer INSTANCE = loadBundled();

        private static Tokenizer loadBundled() {
            try (InputStream in = Tokenizer.class.getResourceAsStream(BUNDLED)) {
                if (in == null) throw new IllegalStateException("bundled tokenizer resource " + BUNDLED + " is missing");
                return fromBytes(in.readAllBytes(), "classpath:dev/jllama/data/tokenizer/" + BUNDLED);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read bundled tokenizer " + BUNDLED, e);
            }
        }
    }

    public byte[] toModelBytes() {
        return modelBytes.clone();
    }

    /** Ids of {@code text} without BOS/EOS, as SentencePiece's {@code encode(text)}. */
    public int[] encode(String text) {
        Buffers b = buffers.get();
        int[] cps = b.codePoints(text.length());
        int n = Utf8.codePoints(text, cps);
        return encodeCodePoints(cps, n, b);
    }

    /** Encodes UTF-8 bytes; each maximal invalid subsequence counts as one U+FFFD, as Python's decode(errors='replace'). */
    public int[] encodeUtf8(byte[] utf8, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, utf8.length);
        Buffers b = buffers.get();
        int[] cps = b.codePoints(len);
        int n = Utf8.decode(utf8, off, len, cps);
        return encodeCodePoints(cps, n, b);
    }

    private int[] encodeCodePoints(int[] cps, int n, Buffers b) {
        normalizer.normalize(cps, n, b.norm);
        b.out.size = 0;
        encoder.encode(b.norm.data, b.norm.size, b.out);
        int[] ids = b.out.toArray();
        b.shrink();
        return ids;
    }

    /** Per-thread scratch arrays, so that encoding a line allocates little more than its result. */
    private static final class Buffers {
        private static final int KEEP = 1 << 20;
        int[] cps = new int[256];
        Normalizer.CodePoints norm = new Normalizer.CodePoints();
        BpeEncoder.IntList out = new BpeEncoder.IntList();

        int[] codePoints(int n) {
            if (cps.length < n) cps = new int[n];
            return cps;
        }

        /** Drops buffers grown by one huge input so that idle threads do not pin them. */
        void shrink() {
            if (cps.length > KEEP) cps = new int[256];
            if (norm.data.length > KEEP) norm = new Normalizer.CodePoints();
            if (out.data.length > KEEP) out = new BpeEncoder.IntList();
        }
    }

    /**
     * Text of {@code ids} as SentencePiece's {@code decode}: control pieces vanish, {@code <unk>} becomes the
     * unknown surface (" ⁇ "), runs of byte pieces are read as UTF-8 (each invalid byte gives U+FFFD), ▁ becomes a
     * space, and the ▁ that starts the text is dropped.
     */
    public String decode(int[] ids) {
        StringBuilder text = new StringBuilder();
        byte[] bytes = new byte[16];
        int nBytes = 0;
        boolean stripLeading = spec.addDummyPrefix() || spec.removeExtraWhitespaces();
        for (int id : ids) {
            checkId(id);
            if (types[id] == PieceType.BYTE) {
                if (nBytes == bytes.length) bytes = java.util.Arrays.copyOf(bytes, nBytes * 2);
                bytes[nBytes++] = (byte) byteValue[id];
                continue;
            }
            appendBytes(text, bytes, nBytes);
            nBytes = 0;
            String surface;
            if (types[id] == PieceType.CONTROL) {
                surface = "";
            } else if (types[id] == PieceType.UNKNOWN) {
                surface = spec.unkSurface();
            } else {
                surface = pieces[id];
                if (stripLeading && text.isEmpty() && surface.charAt(0) == Normalizer.SPACE_SYMBOL) surface = surface.substring(1);
                surface = surface.replace((char) Normalizer.SPACE_SYMBOL, ' ');
            }
            text.append(surface);
        }
        appendBytes(text, bytes, nBytes);
        return text.toString();
    }

    /** SentencePiece decodes byte pieces one character at a time; an invalid byte becomes one U+FFFD. */
    private static void appendBytes(StringBuilder text, byte[] b, int n) {
        for (int i = 0; i < n; ) {
            int c = b[i] & 0xFF, need, cp, min;
            if (c < 0x80) {
                text.append((char) c);
                i++;
                continue;
            } else if ((c & 0xE0) == 0xC0) {
                need = 1; cp = c & 0x1F; min = 0x80;
            } else if ((c & 0xF0) == 0xE0) {
                need = 2; cp = c & 0x0F; min = 0x800;
            } else if ((c & 0xF8) == 0xF0) {
                need = 3; cp = c & 0x07; min = 0x10000;
            } else {
                text.append((char) Utf8.REPLACEMENT);
                i++;
                continue;
            }
            boolean ok = i + need < n;
            for (int k = 1; ok && k <= need; k++) {
                int t = b[i + k] & 0xFF;
                ok = (t & 0xC0) == 0x80;
                cp = (cp << 6) | (t & 0x3F);
            }
            ok = ok && cp >= min && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
            if (ok) {
                text.appendCodePoint(cp);
                i += need + 1;
            } else {
                text.append((char) Utf8.REPLACEMENT);
                i++;
            }
        }
    }

    private void checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " is out of range [0, " + pieces.length + ") of " + source);
        }
    }

    /**
     * Bytes of text each token id stands for (for bits per byte): a byte piece one, a control or unused piece none,
     * {@code <unk>} its surface's UTF-8 bytes, any other piece its UTF-8 bytes with ▁ counted as the one space it
     * decodes to.
     */
    public int[] textBytesPerToken() {
        int[] bytes = new int[pieces.length];
        for (int id = 0; id < bytes.length; id++) {
            bytes[id] = switch (types[id]) {
                case BYTE -> 1;
                case CONTROL, UNUSED -> 0;
                case UNKNOWN -> spec.unkSurface().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
                case NORMAL, USER_DEFINED -> pieces[id].replace((char) Normalizer.SPACE_SYMBOL, ' ')
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            };
        }
        return bytes;
    }

    public int vocabSize() { return pieces.length; }
    public int bosId() { return bosId; }
    public int eosId() { return eosId; }
    public int unkId() { return unkId; }
    public int padId() { return padId; }

    public String piece(int id) {
        checkId(id);
        return pieces[id];
    }

    public float score(int id) {
        checkId(id);
        return scores[id];
    }

    /** The type of piece {@code id} (normal, control, byte, ...). */
    public PieceType type(int id) {
        checkId(id);
        return types[id];
    }

    /** The parsed model fields (pieces, trainer and normalizer settings). */
    public ModelSpec spec() {
        return spec;
    }

    /** Where the model came from, for messages. */
    public String sourceName() {
        return source;
    }
}
