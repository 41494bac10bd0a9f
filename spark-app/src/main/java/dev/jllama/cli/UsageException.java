package dev.jllama.cli;

/** A bad command line: reported as one line on standard error with exit status 2. */
public final class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }
}
