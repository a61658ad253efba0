package locallearn.models;

import java.util.List;
import locallearn.autograd.Tape;
import locallearn.autograd.Var;
import locallearn.local.LocalBlock;
import locallearn.nn.BatchNorm;
import locallearn.nn.Conv2d;
import locallearn.nn.Group;
import locallearn.nn.Layer;
import locallearn.optim.Optimizer;

/**
 * One residual unit of train.py (BasicBlock, Bottleneck or wide_basic): two or three local
 * blocks in a row, and a shortcut from the unit's input that the last block adds to its conv
 * output before its nonlinearity. Every block learns from its own local loss; the shortcut has
 * an optimizer of its own and learns from the last block's loss, whose tape it is recorded on.
 * The shortcut is the input itself, or {@code shortcut.0} (a 1x1 conv with the unit's stride)
 * followed in the ResNets by {@code shortcut.1} (batch norm), as the reference names them.
 *
 * <p>A walk over the network runs the unit through {@link #walk}, with its own step for each
 * block (a local step, or a forward on the global tape); {@link #forward} is the eval forward.
 */
public final class ResidualUnit extends Layer {
    /** A walk's step for one of the unit's blocks: from its input x to its output; {@code unitInput} is not null for the last block only, whose shortcut reads it. */
    public interface BlockStep {
        Var run(LocalBlock block, int index, Var x, Var unitInput);
    }

    private final List<LocalBlock> blocks;
    private final List<String> names;
    private final Conv2d projection;       // shortcut.0, or null: the identity
    private final BatchNorm projectionBn;  // shortcut.1, or null
    private final Group shortcut;
    private Optimizer optimizer;

    /** The blocks under their names (conv1, conv2, ...) and the shortcut's conv and batch norm (either may be null). */
    ResidualUnit(List<String> names, List<LocalBlock> blocks, Conv2d projection, BatchNorm projectionBn) {
        this.names = List.copyOf(names);
        this.blocks = List.copyOf(blocks);
        for (int i = 0; i < blocks.size(); i++) child(names.get(i), blocks.get(i));
        this.projection = projection;
        this.projectionBn = projectionBn;
        Group g = null;
        if (projection != null) {
            g = new Group();
            g.add("0", projection);
            if (projectionBn != null) g.add("1", projectionBn);
        }
        this.shortcut = child("shortcut", g);
    }

    public List<LocalBlock> blocks() { return blocks; }

    /** The blocks' names in the state_dict (conv1, conv2, conv3). */
    public List<String> blockNames() { return names; }

    /** Runs the blocks in order, each by {@code step}: the unit's output. */
    public Var walk(Var x, BlockStep step) {
        Var out = x;
        int last = blocks.size() - 1;
        for (int i = 0; i <= last; i++) out = step.run(blocks.get(i), i, out, i == last ? x : null);
        return out;
    }

    /** The branch the last block adds: x, or the projection of x (1x1 conv, then batch norm in the ResNets). */
    public Var shortcut(Tape tape, Var x) {
        if (projection == null) return x;
        Var s = projection.forward(tape, x);
        return projectionBn == null ? s : projectionBn.forward(tape, s);
    }

    /** Does the shortcut have parameters (and so an optimizer in the local modes)? */
    public boolean hasProjection() { return projection != null; }

    /** The shortcut's parameters. */
    public List<Var> shortcutParameters() { return shortcut == null ? List.of() : shortcut.parameters(); }

    /** The shortcut's optimizer in the local modes, or null. */
    public Optimizer optimizer() { return optimizer; }

    void setOptimizer(Optimizer o) { optimizer = o; }

    /** The unit in eval mode (running statistics, no dropout); training walks go through {@link #walk}, which knows each block's dropout stream. */
    @Override public Var forward(Tape tape, Var x) {
        if (tape.training()) throw new IllegalStateException("residual unit: a training forward goes through walk(), with the blocks' dropout streams");
        return walk(x, (b, i, in, unitIn) -> b.forward(tape, b.preActivation(tape, in, 0), unitIn == null ? null : shortcut(tape, unitIn)));
    }

    @Override public void close() {
        super.close();
        if (optimizer != null) optimizer.close();
    }
}
