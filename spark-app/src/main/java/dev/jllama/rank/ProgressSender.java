package dev.jllama.rank;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Rank 0's progress lines: to the driver's console when the driver can be reached, and always to the executor's
 * log. Progress is a convenience: losing the driver connection never stops training.
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

    void line(String line) {
        LOG.info(line);
        if (out != null) {
            out.println(line);
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
