package locallearn.data;

/**
 * A problem with a data file or folder, as one line that names the file and what is wrong
 * ("train-images-idx3-ubyte.gz: header says 60000 images, file holds 1289").
 *
 * <p>It is an {@link IllegalArgumentException} because a bad file is bad input from the user: the
 * command line prints such exceptions as one line with exit code 2, never as a stack trace.
 */
public final class DataException extends IllegalArgumentException {
    public DataException(String message) { super(message); }

    public DataException(String message, Throwable cause) { super(message, cause); }
}
