package dev.jllama.rank;

import java.util.List;

/** What a rank learns from the place it runs in: its rank, its peers, its GPU and CPU share. */
public interface RankEnvironment {
    int rank();

    int worldSize();

    /** The address peers reach this rank at (the executor's host). */
    String host();

    /** GPU addresses assigned to this task (empty without GPU scheduling). */
    List<String> gpus();

    /** CPU cores assigned to this task. */
    int cpus();

    /** Every rank's {@code message}, indexed by rank: a rendezvous through the cluster manager, costly, used once. */
    List<String> allGather(String message);
}
