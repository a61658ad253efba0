package locallearn.nn;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import locallearn.autograd.Var;

/**
 * What every layer and block shares: named state in the order of the reference's state_dict
 * (parameters are trained; buffers such as running statistics are not), and child modules
 * under their names. Checkpoints and optimizers walk this tree; nothing else needs it.
 */
public abstract class Module {
    private final Map<String, Var> params = new LinkedHashMap<>();
    private final Map<String, Var> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();

    protected final Var param(String name, Var v) { params.put(name, v); return v; }

    protected final Var buffer(String name, Var v) { buffers.put(name, v); return v; }

    protected final <M extends Module> M child(String name, M m) {
        if (m != null) children.put(name, m);
        return m;
    }

    /** The child module under {@code name} ("encoder", "bn"), or null: how an exporter reads a block's parts. */
    public final Module submodule(String name) { return children.get(name); }

    /** The trainable parameters of this module and its children, depth first. */
    public final List<Var> parameters() {
        List<Var> out = new ArrayList<>();
        namedState("", out, null, false);
        return out;
    }

    /** Every state tensor (parameters and buffers) under its state_dict name with {@code prefix}. */
    public final Map<String, Var> state(String prefix) {
        Map<String, Var> out = new LinkedHashMap<>();
        namedState(prefix, null, out, true);
        return out;
    }

    private void namedState(String prefix, List<Var> list, Map<String, Var> map, boolean withBuffers) {
        // PyTorch's state_dict order: own parameters, own buffers, then each child
        for (var e : params.entrySet()) {
            if (list != null) list.add(e.getValue());
            if (map != null) map.put(prefix + e.getKey(), e.getValue());
        }
        if (withBuffers) for (var e : buffers.entrySet()) map.put(prefix + e.getKey(), e.getValue());
        for (var e : children.entrySet()) e.getValue().namedState(prefix + e.getKey() + ".", list, map, withBuffers);
    }

    /** Releases every tensor of this module (parameters and buffers). */
    public void close() {
        for (Var v : params.values()) v.data().close();
        for (Var v : buffers.values()) v.data().close();
        for (Module m : children.values()) m.close();
    }
}
