package dev.jllama.tornado;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.model.backend.cpu.CpuBackend;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Each TornadoVM kernel against the CPU backend on random inputs of odd sizes. */
class TornadoKernelParityTest {
    private static TornadoBackend tornado;
    private static CpuBackend cpu;

    @BeforeAll
    static void start() {
        tornado = new TornadoBackend(-1, TornadoBackend.configuredMemoryBytes());
        cpu = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        if (tornado != null) tornado.close();
        if (cpu != null) cpu.close();
    }

    private static void check(Consumer<ParityChecks> checks) {
        ParityChecks parity = new ParityChecks(tornado, cpu);
        checks.accept(parity);
        List<ParityChecks.Result> results = parity.results();
        assertTrue(!results.isEmpty());
        StringBuilder report = new StringBuilder();
        boolean ok = true;
        for (ParityChecks.Result r : results) {
            report.append(r).append('\n');
            ok &= r.ok();
        }
        System.out.print(report);
        assertTrue(ok, report.toString());
    }

    @Test
    void memoryAndElementwise() {
        check(ParityChecks::memory);
    }

    @Test
    void matmulForms() {
        check(ParityChecks::matmuls);
    }

    @Test
    void rmsnorm() {
        check(p -> {
            p.rmsnorm(13, 77);
            p.rmsnorm(5, 300);
        });
    }

    @Test
    void ropeAndSwiglu() {
        check(p -> {
            p.rope(2, 9, 3, 10);
            p.swiglu(1001);
        });
    }

    @Test
    void embeddingAndCrossEntropy() {
        check(p -> {
            p.embedding(50, 33, 40);
            p.crossEntropy(7, 1003);
        });
    }

    /** Blocks of 32 rows: several of them, a partial last one, GQA, the goal shapes' head_dim 64 and an odd one (10). */
    @Test
    void attention() {
        check(p -> {
            p.attention(2, 45, 4, 2, 16);
            p.attention(1, 70, 3, 3, 48);
            p.attention(1, 1, 2, 1, 8);
            p.attention(2, 77, 4, 1, 64);
            p.attention(1, 33, 2, 2, 10);
        });
    }

    /** Heads wider than 64 run in smaller work-groups (16 threads at 96 and 128, 8 at 256): several blocks, a partial last one, GQA. */
    @Test
    void attentionWideHeads() {
        check(p -> {
            p.attention(2, 37, 4, 2, 128);
            p.attention(1, 40, 6, 2, 96);
            p.attention(1, 19, 2, 1, 256);
        });
    }

    @Test
    void adamw() {
        check(p -> p.adamw(999));
    }

    @Test
    void tensorLists() {
        check(ParityChecks::tensorLists);
    }

    @Test
    void listReads() {
        check(ParityChecks::listReads);
    }

    @Test
    void invalidTokenIsRejectedLikeTheCpuBackend() {
        var table = tornado.allocate("table", 10 * 4);
        var out = tornado.allocate("out", 2 * 4);
        var ids = tornado.allocateInts("ids", 2);
        tornado.writeInts(ids, new int[] {3, 10}, 2);
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> tornado.embedding(out, table, ids, 2, 4));
        assertTrue(e.getMessage().contains("token id 10 at row 1"), e.getMessage());
    }
}
