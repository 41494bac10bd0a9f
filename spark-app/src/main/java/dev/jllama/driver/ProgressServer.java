package dev.jllama.driver;

import dev.jllama.rank.ProgressChannel;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Listens on the driver for rank 0's progress lines and prints them as they come. A connection that cannot prove
 * it knows the job's secret is dropped and logged.
 */
final class ProgressServer implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(ProgressServer.class);
    private final ServerSocket server;
    private final Thread acceptor;
    private final List<Thread> readers = new CopyOnWriteArrayList<>();
    private static final Pattern STEP_LINE = Pattern.compile("^step\\s+(\\d+)/");
    private volatile int lastStep;

    ProgressServer(String host, byte[] secret, PrintStream out) throws IOException {
        server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        acceptor = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket socket = server.accept();
                    Thread reader = new Thread(() -> relay(socket, secret, out), "jllama-progress-reader");
                    reader.setDaemon(true);
                    readers.add(reader);
                    reader.start();
                } catch (IOException e) {
                    if (!server.isClosed()) LOG.warn("progress listener: {}", e.toString());
                }
            }
        }, "jllama-progress-listener");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private void relay(Socket socket, byte[] secret, PrintStream out) {
        try (socket) {
            socket.setSoTimeout(10_000);
            if (!ProgressChannel.acceptPeer(socket, secret)) {
                LOG.warn("progress listener: refused {} (it does not know this job's secret)",
                        socket.getRemoteSocketAddress());
                return;
            }
            socket.setSoTimeout(0);
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                Matcher step = STEP_LINE.matcher(line);
                if (step.find()) lastStep = Integer.parseInt(step.group(1));
                out.println(line);
            }
        } catch (IOException e) {
            LOG.warn("progress listener: connection from {} ended: {}", socket.getRemoteSocketAddress(), e.toString());
        }
    }

    /** The last step rank 0 reported, 0 before the first. */
    int lastStep() {
        return lastStep;
    }

    /** {@code host:port} for the ranks. */
    String address() {
        return server.getInetAddress().getHostAddress() + ":" + server.getLocalPort();
    }

    /** Stops listening after the lines already sent have been printed (rank 0 has closed its side by then). */
    @Override
    public void close() throws IOException {
        server.close();
        for (Thread reader : readers) {
            try {
                reader.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
