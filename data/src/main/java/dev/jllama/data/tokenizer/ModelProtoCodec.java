package dev.jllama.data.tokenizer;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads and writes SentencePiece's {@code ModelProto} (sentencepiece_model.proto, proto2) with protobuf-java's
 * wire-level streams. Only the fields listed in {@link ModelSpec} are interpreted; a loaded model keeps its
 * original bytes, so fields not read here survive a round trip through {@link Tokenizer#toModelBytes()}.
 * Field numbers: ModelProto{1 pieces, 2 trainer_spec, 3 normalizer_spec}; SentencePiece{1 piece, 2 score,
 * 3 type}; TrainerSpec{3 model_type, 4 vocab_size, 10 character_coverage, 20 max_sentencepiece_length,
 * 24 treat_whitespace_as_suffix, 25 split_digits, 26 allow_whitespace_only_pieces, 35 byte_fallback,
 * 40..43 unk/bos/eos/pad ids, 44 unk_surface, 45..48 unk/bos/eos/pad pieces}; NormalizerSpec{1 name,
 * 2 precompiled_charsmap, 3 add_dummy_prefix, 4 remove_extra_whitespaces, 5 escape_whitespaces}.
 */
final class ModelProtoCodec {
    private ModelProtoCodec() {}

    static ModelSpec parse(byte[] bytes, String source) {
        try {
            return parseOrThrow(bytes, source);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(source + ": not a valid SentencePiece ModelProto (" + e.getMessage() + ")", e);
        }
    }

    private static ModelSpec parseOrThrow(byte[] bytes, String source) throws IOException {
        List<Piece> pieces = new ArrayList<>();
        // Trainer defaults (proto2 defaults of TrainerSpec).
        int modelType = 1, vocabSize = 8000, maxPieceLength = 16;
        boolean byteFallback = false, splitDigits = false, allowWsOnly = false, wsSuffix = false;
        String unkPiece = "<unk>", bosPiece = "<s>", eosPiece = "</s>", padPiece = "<pad>", unkSurface = " \u2047 ";
        // Normalizer defaults.
        String normName = "";
        byte[] charsmap = new byte[0];
        boolean dummyPrefix = true, removeWs = true, escapeWs = true;
        boolean sawTrainer = false;

        CodedInputStream in = CodedInputStream.newInstance(bytes);
        for (int tag; (tag = in.readTag()) != 0; ) {
            int field = WireFormat.getTagFieldNumber(tag);
            if (field == 1 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                pieces.add(parsePiece(in.readByteArray(), source, pieces.size()));
            } else if (field == 2 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                sawTrainer = true;
                CodedInputStream t = CodedInputStream.newInstance(in.readByteArray());
                for (int tt; (tt = t.readTag()) != 0; ) {
                    switch (WireFormat.getTagFieldNumber(tt)) {
                        case 3 -> modelType = t.readEnum();
                        case 4 -> vocabSize = t.readInt32();
                        case 20 -> maxPieceLength = t.readInt32();
                        case 24 -> wsSuffix = t.readBool();
                        case 25 -> splitDigits = t.readBool();
                        case 26 -> allowWsOnly = t.readBool();
                        case 35 -> byteFallback = t.readBool();
                        case 44 -> unkSurface = t.readString();
                        case 45 -> unkPiece = t.readString();
                        case 46 -> bosPiece = t.readString();
                        case 47 -> eosPiece = t.readString();
                        case 48 -> padPiece = t.readString();
                        default -> t.skipField(tt);
                    }
                }
            } else if (field == 3 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                CodedInputStream n = CodedInputStream.newInstance(in.readByteArray());
                for (int nt; (nt = n.readTag()) != 0; ) {
                    switch (WireFormat.getTagFieldNumber(nt)) {
                        case 1 -> normName = n.readString();
                        case 2 -> charsmap = n.readByteArray();
                        case 3 -> dummyPrefix = n.readBool();
                        case 4 -> removeWs = n.readBool();
                        case 5 -> escapeWs = n.readBool();
                        default -> n.skipField(nt);
                    }
                }
            } else {
                in.skipField(tag);
            }
        }
        if (pieces.isEmpty()) throw new IllegalArgumentException("no pieces");
        if (!sawTrainer) throw new IllegalArgumentException("no trainer_spec");
        return new ModelSpec(pieces, modelType, vocabSize, byteFallback, splitDigits, allowWsOnly, wsSuffix,
                maxPieceLength, unkPiece, bosPiece, eosPiece, padPiece, unkSurface, normName, charsmap,
                dummyPrefix, removeWs, escapeWs);
    }

    private static Piece parsePiece(byte[] bytes, String source, int index) throws IOException {
        CodedInputStream p = CodedInputStream.newInstance(bytes);
        String piece = null;
        float score = 0f;
        int type = PieceType.NORMAL.wire;
        for (int tag; (tag = p.readTag()) != 0; ) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> piece = p.readString();
                case 2 -> score = p.readFloat();
                case 3 -> type = p.readEnum();
                default -> p.skipField(tag);
            }
        }
        if (piece == null || piece.isEmpty()) {
            throw new IllegalArgumentException("piece " + index + " has an empty string");
        }
        return new Piece(piece, score, PieceType.fromWire(type, source + " piece " + index));
    }

    /** Writes a BPE ModelProto as {@link BpeTrainer} produces it (identity normalization). */
    static byte[] write(ModelSpec spec, float characterCoverage, int maxSentenceLength) {
        try {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream();
            CodedOutputStream out = CodedOutputStream.newInstance(buffer);
            for (Piece piece : spec.pieces()) {
                byte[] p = message(o -> {
                    o.writeString(1, piece.piece());
                    o.writeFloat(2, piece.score());
                    o.writeEnum(3, piece.type().wire);
                });
                out.writeByteArray(1, p);
            }
            int unk = -1, bos = -1, eos = -1, pad = -1;
            for (int i = 0; i < spec.pieces().size(); i++) {
                String s = spec.pieces().get(i).piece();
                if (s.equals(spec.unkPiece())) unk = i;
                if (s.equals(spec.bosPiece())) bos = i;
                if (s.equals(spec.eosPiece())) eos = i;
                if (s.equals(spec.padPiece())) pad = i;
            }
            final int unkId = unk, bosId = bos, eosId = eos, padId = pad;
            out.writeByteArray(2, message(o -> {
                o.writeEnum(3, spec.modelType());
                o.writeInt32(4, spec.vocabSizeField());
                o.writeFloat(10, characterCoverage);
                o.writeInt32(18, maxSentenceLength);
                o.writeInt32(20, spec.maxPieceLength());
                o.writeBool(25, spec.splitDigits());
                o.writeBool(26, spec.allowWhitespaceOnlyPieces());
                o.writeBool(35, spec.byteFallback());
                o.writeInt32(40, unkId);
                o.writeInt32(41, bosId);
                o.writeInt32(42, eosId);
                o.writeInt32(43, padId);
            }));
            out.writeByteArray(3, message(o -> {
                o.writeString(1, spec.normalizerName());
                o.writeBool(3, spec.addDummyPrefix());
                o.writeBool(4, spec.removeExtraWhitespaces());
                o.writeBool(5, spec.escapeWhitespaces());
            }));
            out.flush();
            return buffer.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException("in-memory protobuf write failed", e);
        }
    }

    private interface Body {
        void write(CodedOutputStream out) throws IOException;
    }

    private static byte[] message(Body body) throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(buffer);
        body.write(out);
        out.flush();
        return buffer.toByteArray();
    }
}
