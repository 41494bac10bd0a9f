package dev.jllama.model.export;

import dev.jllama.model.checkpoint.TensorType;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A GGUF version 3 file as llama.cpp reads it: magic {@code GGUF}, version, tensor count and metadata count; the
 * metadata as typed key/value pairs; each tensor's name, dimensions (innermost first, so a PyTorch
 * {@code [out, in]} matrix is {@code [in, out]}), GGML type and data offset; then the tensor data, each tensor
 * starting at a multiple of {@link #ALIGNMENT} from the start of the data section, which is itself aligned.
 * Everything is little-endian.
 */
public final class GgufWriter {
    public static final int MAGIC = 0x46554747;
    public static final int VERSION = 3;
    public static final int ALIGNMENT = 32;

    // GGUF metadata value types.
    static final int UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7, STRING = 8, ARRAY = 9;

    private record Tensor(String name, int[] shape, TensorType type, float[] data) {
        long bytes() {
            return (long) data.length * type.bytes;
        }
    }

    private final Sink metadata = new Sink();
    private int metadataCount;
    private final List<Tensor> tensors = new ArrayList<>();

    public void putString(String key, String value) {
        key(key, STRING);
        metadata.string(value);
    }

    public void putUint32(String key, int value) {
        key(key, UINT32);
        metadata.int32(value);
    }

    public void putFloat32(String key, float value) {
        key(key, FLOAT32);
        metadata.float32(value);
    }

    public void putBool(String key, boolean value) {
        key(key, BOOL);
        metadata.int8(value ? 1 : 0);
    }

    public void putStrings(String key, List<String> values) {
        key(key, ARRAY);
        metadata.int32(STRING);
        metadata.int64(values.size());
        for (String v : values) metadata.string(v);
    }

    public void putFloat32s(String key, float[] values) {
        key(key, ARRAY);
        metadata.int32(FLOAT32);
        metadata.int64(values.length);
        for (float v : values) metadata.float32(v);
    }

    public void putInt32s(String key, int[] values) {
        key(key, ARRAY);
        metadata.int32(INT32);
        metadata.int64(values.length);
        for (int v : values) metadata.int32(v);
    }

    private void key(String key, int type) {
        metadata.string(key);
        metadata.int32(type);
        metadataCount++;
    }

    /** A tensor of PyTorch shape {@code shape} (outermost first), stored as {@code type}. */
    public void addTensor(String name, int[] shape, TensorType type, float[] data) {
        long count = 1;
        for (int s : shape) count *= s;
        if (count != data.length) {
            throw new IllegalArgumentException("tensor " + name + ": shape needs " + count + " values, got " + data.length);
        }
        tensors.add(new Tensor(name, shape.clone(), type, data));
    }

    public void write(OutputStream out) throws IOException {
        Sink head = new Sink();
        head.int32(MAGIC);
        head.int32(VERSION);
        head.int64(tensors.size());
        head.int64(metadataCount);
        head.bytes(metadata.toByteArray());
        long offset = 0;
        for (Tensor t : tensors) {
            head.string(t.name());
            head.int32(t.shape().length);
            for (int i = t.shape().length - 1; i >= 0; i--) head.int64(t.shape()[i]);
            head.int32(t.type().ggmlType);
            head.int64(offset);
            offset = align(offset + t.bytes());
        }
        byte[] header = head.toByteArray();
        out.write(header);
        out.write(new byte[(int) (align(header.length) - header.length)]);
        ByteBuffer buffer = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (Tensor t : tensors) {
            for (float v : t.data()) {
                if (buffer.remaining() < 4) {
                    out.write(buffer.array(), 0, buffer.position());
                    buffer.clear();
                }
                if (t.type() == TensorType.F32) buffer.putFloat(v);
                else buffer.putShort((short) t.type().encode(v));
            }
            out.write(buffer.array(), 0, buffer.position());
            buffer.clear();
            out.write(new byte[(int) (align(t.bytes()) - t.bytes())]);
        }
    }

    static long align(long position) {
        return (position + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** A growable little-endian byte buffer for the header. */
    private static final class Sink {
        private ByteBuffer buffer = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private ByteBuffer room(int bytes) {
            if (buffer.remaining() < bytes) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(buffer.capacity() * 2, buffer.position() + bytes))
                        .order(ByteOrder.LITTLE_ENDIAN);
                bigger.put(buffer.flip());
                buffer = bigger;
            }
            return buffer;
        }

        void int8(int v) {
            room(1).put((byte) v);
        }

        void int32(int v) {
            room(4).putInt(v);
        }

        void int64(long v) {
            room(8).putLong(v);
        }

        void float32(float v) {
            room(4).putFloat(v);
        }

        void bytes(byte[] b) {
            room(b.length).put(b);
        }

        void string(String s) {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            int64(utf8.length);
            bytes(utf8);
        }

        byte[] toByteArray() {
            byte[] out = new byte[buffer.position()];
            buffer.get(0, out);
            return out;
        }
    }
}
