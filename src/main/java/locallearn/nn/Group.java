package locallearn.nn;

/** A named container of modules with no state of its own (the reference's ModuleList / Sequential). */
public final class Group extends Module {
    public <M extends Module> M add(String name, M m) { return child(name, m); }
}
