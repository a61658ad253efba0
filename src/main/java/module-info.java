/**
 * locallearn: trains neural networks with layer-local error signals (Nøkland and Eidnes, 2019) or
 * global backprop, on the CPU or a CUDA GPU, and runs them for inference.
 *
 * <p>A program reads {@code locallearn.config} (what a run is: ModelConfig, LossConfig,
 * TrainingMode), {@code locallearn.train} (Trainer with its listeners and metrics, Classifier,
 * checkpoints, benchmarks), {@code locallearn.data} (Datasets), {@code locallearn.backend}
 * (Backends and the Backend op set) and {@code locallearn.tensor} (the Tensor and Scope those
 * hand out). The CPU and CUDA backends, autograd, the layers and blocks, the optimizers, the ONNX
 * writer (reached through Classifier.exportOnnx) and the command line stay inside.
 */
@SuppressWarnings("requires-automatic") // jcuda and protobuf-java name no module of their own
module locallearn {
    requires jdk.incubator.vector;
    requires java.desktop;               // javax.imageio: PNG and JPEG files for predict and image folders
    requires info.picocli;
    requires jcuda;
    requires com.fasterxml.jackson.core;
    requires org.apache.commons.compress;
    requires com.google.protobuf;

    exports locallearn.config;
    exports locallearn.train;
    exports locallearn.data;
    exports locallearn.backend;
    exports locallearn.tensor;

    opens locallearn.cli to info.picocli; // picocli fills the commands' fields by reflection
}
