package dev.jllama.collective;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Bandwidth of the ring all-reduce between rank processes, next to a plain single-stream TCP copy between two
 * processes placed like the first two ranks as the reference. Each process runs where its {@link Place} says: on this
 * machine's loopback, or on a host reached through a command prefix (e.g. {@code ip netns exec NS}) at the address it
 * listens on. {@link #run} is the parent: it starts the child JVMs (this JVM's java and class path) and talks to them
 * line by line over their standard input and output; {@link #main} is a child.
 */
public final class AllReduceBench {
    /**
     * One message size: {@code algbw} = bits / time per all-reduce, in Gbit/s; {@code busbw} = algbw x 2(N-1)/N
     * (what each rank's link carries each way, comparable with a single stream's rate). The time is
     * the median over the repetitions of the slowest rank's time, robust to a busy machine's hiccups.
     */
    public record SizeResult(int mib, int repetitions, double secondsPerAllReduce, double algbwGbps,
                             double busbwGbps) {
    }

    /** {@code tcpGbps}: the reference copy's rate in Gbit/s. */
    public record Result(int ranks, double tcpGbps, List<SizeResult> sizes) {
    }

    /** Where a child runs: the command that starts a program there (empty: here) and the address it listens on. */
    public record Place(List<String> commandPrefix, String address) {
        public static final Place LOOPBACK = new Place(List.of(), "127.0.0.1");
    }

    private static final long MIB = 1 << 20;
    /** The reference copies this much per round; its speed is the median round's, like the all-reduce's. */
    private static final long TCP_BYTES = 512 * MIB;
    private static final int TCP_ROUNDS = 5;
    private static final int TCP_BUFFER_BYTES = 4 << 20;
    private static final int WARM_UP = 2;
    private static final long CHILD_TIMEOUT_MINUTES = 10;

    private AllReduceBench() {
    }

    /**
     * Measures the reference copy (from the second rank's place to the first's), then each size in {@code sizesMib}
     * with one rank process per place.
     */
    public static Result run(List<Place> ranks, List<Integer> sizesMib) throws IOException, InterruptedException {
        double tcpGbps = singleStreamTcpGbps(ranks.get(1), ranks.get(0));
        List<SizeResult> sizes = allReduce(ranks, sizesMib);
        return new Result(ranks.size(), tcpGbps, sizes);
    }

    private static double singleStreamTcpGbps(Place from, Place to) throws IOException, InterruptedException {
        List<Child> children = new ArrayList<>();
        try {
            Child receiver = Child.start(to, 256, "tcp-receiver", to.address(), String.valueOf(TCP_BYTES),
                    String.valueOf(TCP_ROUNDS));
            children.add(receiver);
            String address = receiver.expect("address");
            Child sender = Child.start(from, 256, "tcp-sender", address, String.valueOf(TCP_BYTES),
                    String.valueOf(TCP_ROUNDS));
            children.add(sender);
            double[] seconds = new double[TCP_ROUNDS];
            for (int round = 0; round < TCP_ROUNDS; round++) {
                seconds[round] = Double.parseDouble(sender.expect("round"));
            }
            for (Child child : children) child.awaitExit();
            return TCP_BYTES * 8 / median(seconds) / 1e9;
        } finally {
            for (Child child : children) child.destroy();
        }
    }

    private static List<SizeResult> allReduce(List<Place> places, List<Integer> sizesMib)
            throws IOException, InterruptedException {
        int ranks = places.size();
        int largest = Collections.max(sizesMib);
        String sizes = String.join(",", sizesMib.stream().map(String::valueOf).toList());
        List<Child> children = new ArrayList<>();
        try {
            for (int rank = 0; rank < ranks; rank++) {
                Place place = places.get(rank);
                children.add(Child.start(place, largest + 256, "rank", String.valueOf(rank), String.valueOf(ranks),
                        sizes, place.address()));
            }
            List<String> addresses = new ArrayList<>();
            for (Child child : children) addresses.add(child.expect("address"));
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            for (Child child : children) {
                child.send("addresses " + String.join(",", addresses));
                child.send("secret " + HexFormat.of().formatHex(secret));
            }
            List<SizeResult> results = new ArrayList<>();
            for (int mib : sizesMib) {
                String[] measured = children.get(0).expect("size").split(" ");
                int repetitions = Integer.parseInt(measured[1]);
                double seconds = Double.parseDouble(measured[2]);
                double algbw = mib * MIB * 8 / seconds / 1e9;
                results.add(new SizeResult(mib, repetitions, seconds, algbw, algbw * 2 * (ranks - 1) / ranks));
            }
            for (Child child : children) child.awaitExit();
            return results;
        } finally {
            for (Child child : children) child.destroy();
        }
    }

    /** A child JVM of this benchmark and its standard input and output. */
    private record Child(Process process, BufferedReader output, PrintWriter input, String mode) {

        static Child start(Place place, long heapMib, String... arguments) throws IOException {
            List<String> command = new ArrayList<>(place.commandPrefix());
            command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx" + heapMib + "m"));
            String logConfiguration = System.getProperty("log4j2.configurationFile");
            if (logConfiguration != null) command.add("-Dlog4j2.configurationFile=" + logConfiguration);
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), AllReduceBench.class.getName()));
            command.addAll(List.of(arguments));
            Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            return new Child(process,
                    new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)),
                    new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8),
                    String.join(" ", List.of(arguments)));
        }

        /** The rest of the next line that starts with {@code key} (other output, e.g. logging, is skipped). */
        String expect(String key) throws IOException {
            for (String line = output.readLine(); line != null; line = output.readLine()) {
                if (line.startsWith(key + " ")) return line.substring(key.length() + 1);
            }
            throw new IOException("benchmark child '" + mode + "' ended (exit status "
                    + (process.isAlive() ? "unknown" : process.exitValue()) + ") before reporting '" + key
                    + "'; its errors are above");
        }

        void send(String line) {
            input.println(line);
        }

        void awaitExit() throws IOException, InterruptedException {
            if (!process.waitFor(CHILD_TIMEOUT_MINUTES, TimeUnit.MINUTES) || process.exitValue() != 0) {
                throw new IOException("benchmark child '" + mode + "' failed; its errors are above");
            }
        }

        void destroy() {
            process.destroyForcibly();
        }
    }

    /**
     * A child: {@code rank R N SIZES LISTEN_ADDRESS}, {@code tcp-receiver LISTEN_ADDRESS BYTES ROUNDS} or
     * {@code tcp-sender ADDRESS BYTES ROUNDS}.
     */
    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "rank" -> rank(Integer.parseInt(args[1]), Integer.parseInt(args[2]), args[3], args[4]);
            case "tcp-receiver" -> tcpReceiver(args[1], Long.parseLong(args[2]), Integer.parseInt(args[3]));
            case "tcp-sender" -> tcpSender(PeerAddress.parse(args[1]), Long.parseLong(args[2]),
                    Integer.parseInt(args[3]));
            default -> throw new IllegalArgumentException("unknown benchmark child mode '" + args[0] + "'");
        }
        System.exit(0);
    }

    private static void rank(int rank, int ranks, String sizesCsv, String listenAddress) throws IOException {
        List<Integer> sizes = new ArrayList<>();
        for (String size : sizesCsv.split(",")) sizes.add(Integer.parseInt(size));
        try (Collective collective = joinThroughParent(rank, listenAddress)) {
            // One array of the largest size; smaller sizes use its prefix. The values do not affect the speed;
            // zeros stay zeros however often they are summed.
            float[] data = new float[Math.toIntExact(Collections.max(sizes) * MIB / Float.BYTES)];
            for (int mib : sizes) {
                int length = Math.toIntExact(mib * MIB / Float.BYTES);
                int repetitions = Math.clamp(2048 / mib, 3, 50);
                for (int i = 0; i < WARM_UP; i++) collective.allReduce(data, 0, length);
                collective.allReduceDoubles(new double[1]); // start together
                double[] seconds = new double[repetitions];
                for (int i = 0; i < repetitions; i++) {
                    long start = System.nanoTime();
                    collective.allReduce(data, 0, length);
                    seconds[i] = (System.nanoTime() - start) / 1e9;
                }
                double median = median(slowestRank(collective, seconds));
                if (rank == 0) System.out.println("size " + mib + " " + repetitions + " " + median);
                System.out.flush();
            }
        }
    }

    /** Per repetition, the time of the rank that took longest. */
    private static double[] slowestRank(Collective collective, double[] seconds) throws IOException {
        ByteBuffer mine = ByteBuffer.allocate(seconds.length * Double.BYTES);
        mine.asDoubleBuffer().put(seconds);
        double[] slowest = new double[seconds.length];
        for (byte[] theirs : collective.allGatherBytes(mine.array())) {
            for (int i = 0; i < slowest.length; i++) {
                slowest[i] = Math.max(slowest[i], ByteBuffer.wrap(theirs).getDouble(i * Double.BYTES));
            }
        }
        return slowest;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int middle = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    private static void tcpReceiver(String listenAddress, long bytes, int rounds) throws IOException {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(listenAddress, 0));
            InetSocketAddress bound = (InetSocketAddress) server.getLocalAddress();
            System.out.println("address " + new PeerAddress(bound.getHostString(), bound.getPort()));
            System.out.flush();
            try (SocketChannel channel = server.accept()) {
                ByteBuffer buffer = ByteBuffer.allocateDirect(TCP_BUFFER_BYTES);
                for (int round = 0; round < rounds; round++) {
                    for (long left = bytes; left > 0; ) {
                        buffer.clear().limit((int) Math.min(buffer.capacity(), left));
                        int read = channel.read(buffer);
                        if (read < 0) throw new IOException("the sender closed the connection early");
                        left -= read;
                    }
                    channel.write(ByteBuffer.wrap(new byte[] {1}));
                }
            }
        }
    }

    private static void tcpSender(PeerAddress receiver, long bytes, int rounds) throws IOException {
        try (SocketChannel channel = SocketChannel.open(receiver.socketAddress())) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(TCP_BUFFER_BYTES);
            ByteBuffer ack = ByteBuffer.allocate(1);
            for (int round = 0; round < rounds; round++) {
                long start = System.nanoTime();
                for (long left = bytes; left > 0; ) {
                    buffer.clear().limit((int) Math.min(buffer.capacity(), left));
                    while (buffer.hasRemaining()) left -= channel.write(buffer);
                }
                ack.clear();
                if (channel.read(ack) < 0) throw new IOException("the receiver closed the connection early");
                System.out.println("round " + (System.nanoTime() - start) / 1e9);
                System.out.flush();
            }
        }
    }

    /**
     * A child rank's side of the rendezvous through its parent process: prints {@code address HOST:PORT} of a new
     * listener on {@code listenAddress}, reads {@code addresses A,B,...} and {@code secret HEX} from standard input, and joins
     * the ring.
     */
    static Collective joinThroughParent(int rank, String listenAddress) throws IOException {
        BufferedReader parent = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PeerListener listener = PeerListener.open(listenAddress);
        try {
            System.out.println("address " + listener.address());
            System.out.flush();
            List<String> addresses = List.of(field(parent.readLine(), "addresses").split(","));
            byte[] secret = HexFormat.of().parseHex(field(parent.readLine(), "secret"));
            return Collective.connect(listener, rank, addresses, secret, CollectiveOptions.defaults());
        } catch (IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
    }

    private static String field(String line, String name) {
        if (line == null || !line.startsWith(name + " ")) {
            throw new IllegalStateException("expected '" + name + " ...' from the parent, got " + line);
        }
        return line.substring(name.length() + 1);
    }
}
