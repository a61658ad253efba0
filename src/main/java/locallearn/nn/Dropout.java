package locallearn.nn;

import locallearn.autograd.Ops;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;

/**
 * Dropout (single elements) or Dropout2d (whole channels of (B, C, H, W) inputs). The mask
 * comes from Philox with the tape's seed and the stream {@code stream + step * 64}: the same step
 * replays the same mask, and nothing is stored for backward.
 */
public final class Dropout extends Layer {
    final float p;
    final boolean channels;
    final int stream;

    public Dropout(float p, boolean channels, int stream) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("dropout: p must be in [0, 1), got " + p);
        this.p = p;
        this.channels = channels;
        this.stream = stream;
    }

    @Override public Var forward(Tape tape, Var x) {
        int inner = channels ? x.data().shape().sizeFrom(2) : 1;
        return Ops.dropout(tape, x, p, tape.step() * 64 + stream, inner);
    }
}
