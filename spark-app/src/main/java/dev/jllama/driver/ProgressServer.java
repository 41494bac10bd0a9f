package dev.jllama.driver;

import dev.jllama.rank.ProgressChannel;
import dev.jllama.rank.ProgressMessage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Listens on the driver for rank 0's progress messages and shows them as they come. A connection that cannot prove
 * it knows the job's secret is dropped and logged.
 */
final class ProgressServer implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(ProgressServer.class);
    private final ServerSocket server;
    private final Thread acceptor;
    private final List<Thread> readers = new CopyOnWriteArrayList<>();
    private volatile int lastStep;

    ProgressServer(String host, byte[] secret, ProgressDisplay display) throws IOException {
        server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        acceptor = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket socket = server.accept();
                    Thread reader = new Thread(() -> relay(socket, secret, display), "jllama-progress-reader");
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

    private void relay(Socket socket, byte[] secret, ProgressDisplay display) {
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
                ProgressMessage message;
                try {
                    message = ProgressMessage.decode(line);
                } catch (IllegalArgumentException e) {
                    LOG.warn("progress listener: {} from {}", e.getMessage(), socket.getRemoteSocketAddress());
                    continue;
                }
                if (message instanceof ProgressMessage.Step step) lastStep = step.metrics().step();
                display.show(message);
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

    /** Stops listening after the messages already sent have been shown (rank 0 has closed its side by then). */
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
