package dev.jllama.rank;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jllama.collective.CollectiveOptions;
import dev.jllama.collective.LocalRing;
import dev.jllama.model.Initializer;
import dev.jllama.model.LlamaConfig;
import dev.jllama.model.LlamaModel;
import dev.jllama.model.ParameterLayout;
import dev.jllama.model.backend.Backend;
import dev.jllama.model.backend.Backends;
import dev.jllama.model.optim.AdamW;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The divergence guard and the ZeRO-1 ownership of {@link CollectiveSync}, over a real ring in one JVM. */
class CollectiveSyncTest {
    private static final LlamaConfig CONFIG = new LlamaConfig(32, 2, 4, 2, 64, 64, 1e-5f, 10000f, 16, false);

    /** What {@code afterStep(step)} says on each rank when rank 1's model was initialised with {@code seedOfRank1}. */
    private static List<String> checkAfterStep(int step, long seedOfRank1) throws Exception {
        try (LocalRing ring = LocalRing.start(2, CollectiveOptions.defaults())) {
            return ring.onEveryRank(collective -> {
                try (Backend backend = Backends.create("cpu", -1, 1);
                     LlamaModel model = new LlamaModel(CONFIG, backend);
                     AdamW optimizer = new AdamW(backend, model.parameters(), AdamW.Hyper.LLAMA)) {
                    Initializer.initialize(model, collective.rank() == 0 ? 1 : seedOfRank1);
                    CollectiveSync sync = CollectiveSync.replicated(collective, model, optimizer, 5);
                    try {
                        sync.afterStep(step);
                        return "agreed";
                    } catch (IllegalStateException e) {
                        return e.getMessage();
                    }
                }
            });
        }
    }

    @Test
    void divergedRanksStopAtTheNextCheck() throws Exception {
        for (String outcome : checkAfterStep(10, 2)) {
            assertTrue(outcome.startsWith("ranks diverged at step 10: the parameters of rank 1 have checksum"), outcome);
        }
    }

    @Test
    void ranksThatAgreeGoOnAndStepsBetweenChecksAreNotCompared() throws Exception {
        assertEquals(List.of("agreed", "agreed"), checkAfterStep(10, 1));
        assertEquals(List.of("agreed", "agreed"), checkAfterStep(7, 2), "step 7 is no multiple of 5: no check");
    }

    @Test
    void zeroOneSharesCoverEveryParameterOnce() throws Exception {
        try (Backend backend = Backends.create("cpu", -1, 1); LlamaModel model = new LlamaModel(CONFIG, backend)) {
            ParameterLayout layout = new ParameterLayout(model.parameters());
            for (int world : new int[] {2, 3, 5}) {
                int[] owners = new int[layout.size()];
                for (int rank = 0; rank < world; rank++) {
                    for (int[] range : CollectiveSync.ownedRanges(layout, world, rank)) {
                        for (int i = range[0]; i < range[1]; i++) owners[i]++;
                    }
                }
                for (int i = 0; i < owners.length; i++) assertEquals(1, owners[i], "element " + i + ", world " + world);
            }
        }
    }
}
