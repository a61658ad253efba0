package locallearn.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import locallearn.backend.Backend;
import locallearn.backend.cpu.CpuBackend;
import locallearn.export.OnnxExport;
import locallearn.train.Classifier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code locallearn export --checkpoint FILE --onnx model.onnx}: the inference graph as an ONNX model. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a checkpoint's inference graph as an ONNX model: input images (N, C, H, W) as pixel/255, output logits.")
final class ExportCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, description = "checkpoint.safetensors written by train") Path checkpoint;
    @Option(names = "--onnx", required = true, description = "the ONNX file to write (replaced only once the new one is complete)") Path onnx;

    @Override public Integer call() {
        // the CPU is enough: export only reads the weights
        try (Backend be = new CpuBackend(); Classifier clf = Classifier.load(checkpoint, be)) {
            clf.exportOnnx(onnx);
            var in = clf.input();
            System.out.printf("%s: %s for %s, ONNX opset %d; input images (N, %d, %d, %d) as pixel/255 (normalised inside), output logits (N, %d)%n",
                    onnx, clf.model().name(), clf.dataset().name(), OnnxExport.OPSET, in.channels(), in.height(), in.width(), in.classes());
        }
        return 0;
    }
}
