package dev.jllama.rank;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Rank 0's progress messages: to the driver when the driver can be reached, and always to the executor's log
 * (steps at the logging interval only). Progress is a convenience: losing the driver connection never stops training.
 */
final class ProgressSender implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(ProgressSender.class);
    private Socket socket;
    private PrintStream out;

    ProgressSender(String driverAddress, byte[] secret) {
        if (driverAddress == null) return;
        int colon = driverAddress.lastIndexOf(':');
        try {
            socket = new Socket();
            socket.connect(new InetSocketAddress(driverAddress.substring(0, colon),
                    Integer.parseInt(driverAddress.substring(colon + 1))), 10_000);
            ProgressChannel.prove(socket, secret);
            out = new PrintStream(socket.getOutputStream(), true, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot reach the driver's progress listener at {} ({}); progress goes to this log only",
                    driverAddress, e.toString());
            close();
        }
    }

    /** A line of text for the driver to show as it is. */
    void line(String line) {
        LOG.info(line);
        send(new ProgressMessage.Text(line));
    }

    /** A completed step; {@code logged}: also a line in this executor's log. */
    void step(ProgressMessage.Step step, boolean logged) {
        if (logged) LOG.info(step.plainLine());
        send(step);
    }

    private void send(ProgressMessage message) {
        if (out != null) {
            out.println(message.encode());
            if (out.checkError()) {
                LOG.warn("lost the driver's progress listener; progress goes to this log only");
                close();
            }
        }
    }

    @Override
    public void close() {
        try {
            if (socket != null) socket.close();
        } catch (IOException ignored) {
            // closing a progress socket cannot lose anything
        }
        socket = null;
        out = null;
    }
}
