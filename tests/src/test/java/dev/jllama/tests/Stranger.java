package dev.jllama.tests;

import java.io.IOException;

/**
 * A stranger knocking at ranks' ring ports from wherever it runs (e.g. inside another test host): {@code Stranger
 * LISTEN_ADDRESS TARGET...} sends each target random bytes, then runs the real handshake as rank 0 with the wrong
 * secret, as {@link ForgedPeerTest} does from loopback. Prints {@code refused TARGET} per target and exits 0 when every
 * target refused it; exits 1 if one let it in.
 */
public final class Stranger {
    private Stranger() {}

    public static void main(String[] args) throws IOException {
        for (int i = 1; i < args.length; i++) {
            ForgedPeerTest.sendGarbage(args[i]);
            try {
                ForgedPeerTest.joinAsRankZeroWithWrongSecret(args[i], args[0]);
                System.out.println("accepted " + args[i]);
                System.exit(1);
            } catch (IOException refused) {
                System.out.println("refused " + args[i] + ": " + refused.getMessage());
            }
        }
        System.exit(0);
    }
}
