package dev.jllama.collective;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** The ranks of a ring in one JVM over loopback TCP, each connected and driven from its own thread. */
public final class LocalRing implements AutoCloseable {
    static final byte[] SECRET = "a test secret of thirty-two byte".getBytes(StandardCharsets.US_ASCII);

    private final List<Collective> ranks;
    private final List<String> addresses;
    private final ExecutorService threads;

    private LocalRing(List<Collective> ranks, List<String> addresses, ExecutorService threads) {
        this.ranks = ranks;
        this.addresses = addresses;
        this.threads = threads;
    }

    public static LocalRing start(int worldSize, CollectiveOptions options) throws Exception {
        List<PeerListener> listeners = new ArrayList<>();
        for (int rank = 0; rank < worldSize; rank++) listeners.add(PeerListener.open("127.0.0.1"));
        List<String> addresses = listeners.stream().map(PeerListener::address).toList();
        ExecutorService threads = Executors.newFixedThreadPool(worldSize);
        List<Future<Collective>> connecting = new ArrayList<>();
        for (int rank = 0; rank < worldSize; rank++) {
            int r = rank;
            connecting.add(threads.submit(() -> Collective.connect(listeners.get(r), r, addresses, SECRET, options)));
        }
        List<Collective> ranks = new ArrayList<>();
        for (Future<Collective> f : connecting) ranks.add(f.get(30, TimeUnit.SECONDS));
        return new LocalRing(ranks, addresses, threads);
    }

    public Collective rank(int rank) {
        return ranks.get(rank);
    }

    /** Where rank {@code rank}'s listener keeps accepting (and refusing) connections. */
    String address(int rank) {
        return addresses.get(rank);
    }

    public interface RankBody<T> {
        T run(Collective collective) throws Exception;
    }

    /** Runs {@code body} on every rank at once and returns what each returned, index = rank. */
    public <T> List<T> onEveryRank(RankBody<T> body) throws Exception {
        List<Future<T>> running = new ArrayList<>();
        for (Collective collective : ranks) running.add(threads.submit(() -> body.run(collective)));
        List<T> results = new ArrayList<>();
        for (Future<T> f : running) results.add(f.get(60, TimeUnit.SECONDS));
        return results;
    }

    @Override
    public void close() {
        for (Collective collective : ranks) collective.close();
        threads.shutdownNow();
    }
}
