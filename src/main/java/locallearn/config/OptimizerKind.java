package locallearn.config;

/** The optimizer of a run, as {@code --optim} names it: Adam, AMSGrad or SGD (with momentum). */
public enum OptimizerKind { ADAM, AMSGRAD, SGD }
