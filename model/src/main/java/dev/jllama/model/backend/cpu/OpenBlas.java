package dev.jllama.model.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.javacpp.Loader;

/**
 * OpenBLAS's {@code cblas_sgemm} on Java heap arrays. The library is the one packaged for the JVM by the JavaCPP
 * presets ({@code org.bytedeco:openblas}, natives inside the jar, extracted on first use to JavaCPP's cache), so a
 * machine or Spark executor needs nothing installed. It is called through the FFM API with heap access allowed
 * ({@link Linker.Option#critical}), so no array is copied; the JavaCPP bindings would copy every array argument.
 *
 * <p>OpenBLAS is set to one thread: the CPU backend splits each product into tiles on its own thread pool (no
 * oversubscription, no OpenBLAS threads spinning next to the other kernels, and a split that does not depend on the
 * thread count). {@code OPENBLAS_CORETYPE} in the environment still selects the kernel, as OpenBLAS documents.
 */
final class OpenBlas {
    private static final System.Logger LOG = System.getLogger(OpenBlas.class.getName());
    private static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

    private final MethodHandle sgemm;
    /** {@code cblas_sbgemm}, or null: OpenBLAS has it only when built with {@code BUILD_BFLOAT16=1}. */
    private final MethodHandle sbgemm;
    private final MethodHandle setNumThreads;
    private final String coreName;
    private final String config;

    private static final class Holder {
        static final OpenBlas INSTANCE;
        static final String FAILURE;

        static {
            OpenBlas loaded = null;
            String failure = null;
            try {
                loaded = new OpenBlas();
            } catch (Throwable e) {
                failure = e.toString();
                LOG.log(System.Logger.Level.WARNING, "native OpenBLAS not available (" + failure
                        + "); the CPU backend uses its Java Vector API matmul");
            }
            INSTANCE = loaded;
            FAILURE = failure;
        }
    }

    /** The loaded library, or null where the natives cannot be loaded (see {@link #failure()}). */
    static OpenBlas get() {
        return Holder.INSTANCE;
    }

    /** Why {@link #get()} is null, or null. */
    static String failure() {
        return Holder.FAILURE;
    }

    /**
     * Another OpenBLAS shared library to use instead of the packaged one: system property {@value}, e.g. one built
     * with {@code BUILD_BFLOAT16=1} for {@code cblas_sbgemm}, which the packaged build lacks.
     */
    static final String LIBRARY_PROPERTY = "jllama.openblas.library";

    private OpenBlas() throws Throwable {
        Path library = System.getProperty(LIBRARY_PROPERTY) != null
                ? Path.of(System.getProperty(LIBRARY_PROPERTY)) : packagedLibrary();
        SymbolLookup lookup = SymbolLookup.libraryLookup(library, Arena.global());
        Linker linker = Linker.nativeLinker();
        ValueLayout.OfInt i = ValueLayout.JAVA_INT;
        ValueLayout.OfFloat f = ValueLayout.JAVA_FLOAT;
        sgemm = linker.downcallHandle(symbol(lookup, "cblas_sgemm"),
                FunctionDescriptor.ofVoid(i, i, i, i, i, i, f, ValueLayout.ADDRESS, i, ValueLayout.ADDRESS, i, f,
                        ValueLayout.ADDRESS, i),
                Linker.Option.critical(true));
        sbgemm = lookup.find("cblas_sbgemm").map(address -> linker.downcallHandle(address,
                FunctionDescriptor.ofVoid(i, i, i, i, i, i, f, ValueLayout.ADDRESS, i, ValueLayout.ADDRESS, i, f,
                        ValueLayout.ADDRESS, i),
                Linker.Option.critical(true))).orElse(null);
        setNumThreads = linker.downcallHandle(symbol(lookup, "openblas_set_num_threads"), FunctionDescriptor.ofVoid(i));
        MethodHandle getCoreName = linker.downcallHandle(symbol(lookup, "openblas_get_corename"),
                FunctionDescriptor.of(ValueLayout.ADDRESS));
        MethodHandle getConfig = linker.downcallHandle(symbol(lookup, "openblas_get_config"),
                FunctionDescriptor.of(ValueLayout.ADDRESS));
        coreName = ((MemorySegment) getCoreName.invokeExact()).reinterpret(256).getString(0);
        config = ((MemorySegment) getConfig.invokeExact()).reinterpret(1024).getString(0);
        setThreads(1);
    }

    /**
     * Extracts libopenblas and its Fortran runtime from the JavaCPP jar and loads them; returns the path it loaded
     * from, which the constructor opens again (the same handle) to look up the C entry points.
     */
    private static Path packagedLibrary() {
        Loader.load(org.bytedeco.openblas.global.openblas_nolapack.class);
        Path library = null;
        for (Map.Entry<String, String> e : Loader.getLoadedLibraries().entrySet()) {
            if (e.getKey().startsWith("openblas") && e.getValue() != null) library = Path.of(e.getValue());
        }
        if (library == null) {
            throw new IllegalStateException("JavaCPP loaded no openblas library: " + Loader.getLoadedLibraries());
        }
        return library;
    }

    private static MemorySegment symbol(SymbolLookup lookup, String name) {
        return lookup.find(name).orElseThrow(() -> new IllegalStateException("OpenBLAS has no symbol " + name));
    }

    /** The kernel OpenBLAS chose for this CPU (or that {@code OPENBLAS_CORETYPE} forced), e.g. "SkylakeX". */
    String coreName() {
        return coreName;
    }

    /** Version and build, e.g. "OpenBLAS 0.3.31 DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64". */
    String config() {
        return config;
    }

    /** "openblas 0.3.31 (Cooperlake)". */
    String describe() {
        String[] words = config.split(" ");
        String version = words.length > 1 ? words[1] : config;
        return "openblas " + version + " (" + coreName + ")";
    }

    /** Whether this build has {@code cblas_sbgemm} (bf16 operands, fp32 accumulation and output). */
    boolean hasSbgemm() {
        return sbgemm != null;
    }

    /** OpenBLAS's own thread count, process-wide. The backend keeps it at 1; benchmarks of OpenBLAS alone change it. */
    void setThreads(int threads) {
        try {
            setNumThreads.invokeExact(threads);
        } catch (Throwable e) {
            throw new IllegalStateException("openblas_set_num_threads failed", e);
        }
    }

    /**
     * Row-major {@code C[m,n] = beta C + op(A) op(B)} on slices of heap arrays: {@code op(A)} is {@code m x k} (stored
     * {@code k x m} when {@code transA}), {@code op(B)} is {@code k x n} (stored {@code n x k} when {@code transB}).
     */
    void sgemm(boolean transA, boolean transB, int m, int n, int k,
               float[] a, int aOffset, int lda, float[] b, int bOffset, int ldb,
               float beta, float[] c, int cOffset, int ldc) {
        try {
            sgemm.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, 1f,
                    MemorySegment.ofArray(a).asSlice(aOffset * 4L), lda,
                    MemorySegment.ofArray(b).asSlice(bOffset * 4L), ldb, beta,
                    MemorySegment.ofArray(c).asSlice(cOffset * 4L), ldc);
        } catch (Throwable e) {
            throw new IllegalStateException("cblas_sgemm failed", e);
        }
    }

    /**
     * {@link #sgemm} with bf16 operands (bit patterns, see {@link Bf16#toBits}): fp32 accumulation and output. Only
     * where {@link #hasSbgemm()}.
     */
    void sbgemm(boolean transA, boolean transB, int m, int n, int k,
                short[] a, int aOffset, int lda, short[] b, int bOffset, int ldb,
                float beta, float[] c, int cOffset, int ldc) {
        try {
            sbgemm.invokeExact(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, 1f,
                    MemorySegment.ofArray(a).asSlice(aOffset * 2L), lda,
                    MemorySegment.ofArray(b).asSlice(bOffset * 2L), ldb, beta,
                    MemorySegment.ofArray(c).asSlice(cOffset * 4L), ldc);
        } catch (Throwable e) {
            throw new IllegalStateException("cblas_sbgemm failed", e);
        }
    }
}
