package dev.jllama.model.checkpoint;

import java.util.Locale;

/**
 * The element types the exporters write and the importer reads, with their names in each format: safetensors'
 * dtype, PyTorch's {@code torch_dtype}, and GGML's type number. Conversions from float32 round to nearest, ties
 * to even, as PyTorch's {@code .half()} and {@code .bfloat16()} do.
 */
public enum TensorType {
    F32("F32", "float32", 0, 4),
    F16("F16", "float16", 1, 2),
    BF16("BF16", "bfloat16", 30, 2);

    public final String safetensorsName;
    public final String torchName;
    public final int ggmlType;
    public final int bytes;

    TensorType(String safetensorsName, String torchName, int ggmlType, int bytes) {
        this.safetensorsName = safetensorsName;
        this.torchName = torchName;
        this.ggmlType = ggmlType;
        this.bytes = bytes;
    }

    /** {@code f32}, {@code f16} or {@code bf16}, as the command line spells them. */
    public static TensorType parse(String name) {
        for (TensorType t : values()) if (t.name().toLowerCase(Locale.ROOT).equals(name)) return t;
        throw new IllegalArgumentException("unsupported dtype '" + name + "' (choose f32, f16 or bf16)");
    }

    /** The type a safetensors header names, or null if it is not one of these. */
    public static TensorType ofSafetensors(String dtype) {
        for (TensorType t : values()) if (t.safetensorsName.equals(dtype)) return t;
        return null;
    }

    /** Bits of {@code value} in this type (the low 16 bits for the half types). */
    public int encode(float value) {
        return switch (this) {
            case F32 -> Float.floatToRawIntBits(value);
            case F16 -> Float.floatToFloat16(value) & 0xFFFF;
            case BF16 -> toBfloat16(value);
        };
    }

    public float decode(int bits) {
        return switch (this) {
            case F32 -> Float.intBitsToFloat(bits);
            case F16 -> Float.float16ToFloat((short) bits);
            case BF16 -> Float.intBitsToFloat(bits << 16);
        };
    }

    /** The upper half of the float's bits, rounded to nearest even; NaN becomes PyTorch's quiet NaN 0x7FC0. */
    static int toBfloat16(float value) {
        if (Float.isNaN(value)) return 0x7FC0;
        int bits = Float.floatToRawIntBits(value);
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return ((bits + roundingBias) >>> 16) & 0xFFFF;
    }
}
