// The seed's logistic regression as on-disk MapReduce: one job per iteration,
// each reading the points from disk again (what the Spark paper compared with).
//
//   java -cp CLASSES:JARS LogisticRegression INPUT OUTPUT RUNS CORES SPLIT_BYTES T0_MILLIS
//        ITERATIONS W0
//
// W0 is the starting weight vector, comma-separated (Python's repr of each float,
// which Double.parseDouble reads back exactly).  Each map task adds the seed's
// per-point gradient (1 / (1 + exp(-y w.x))) * y * x into one vector and emits it
// once at the end (in-mapper combining, the usual way to write this job); one
// reducer adds the task vectors; the driver reads the sum and updates w.
// stdout: "BENCH startup S", then per run one "BENCH iteration S" per job,
// "BENCH job S" and "BENCH w w1,w2,...".
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.IntWritable;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.mapreduce.Mapper;
import org.apache.hadoop.mapreduce.Reducer;
import org.apache.hadoop.mapreduce.lib.input.FileInputFormat;
import org.apache.hadoop.mapreduce.lib.output.FileOutputFormat;

public class LogisticRegression {

    static double[] parse(String csv) {
        String[] parts = csv.split(",");
        double[] v = new double[parts.length];
        for (int i = 0; i < parts.length; i++) {
            v[i] = Double.parseDouble(parts[i]);
        }
        return v;
    }

    static String format(double[] v) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < v.length; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append(Double.toString(v[i]));
        }
        return sb.toString();
    }

    public static class GradientMapper extends Mapper<LongWritable, Text, IntWritable, Text> {
        private double[] w;
        private double[] gradient;
        private double[] x;

        @Override
        protected void setup(Context context) {
            w = parse(context.getConfiguration().get("lr.w"));
            gradient = new double[w.length];
            x = new double[w.length];
        }

        @Override
        public void map(LongWritable key, Text value, Context context) {
            String[] fields = value.toString().split(" ");
            double y = Double.parseDouble(fields[0]);
            double dot = 0.0;
            for (int i = 0; i < w.length; i++) {
                x[i] = Double.parseDouble(fields[i + 1]);
                dot += w[i] * x[i];
            }
            double scale = (1 / (1 + Math.exp(-y * dot))) * y;
            for (int i = 0; i < w.length; i++) {
                gradient[i] += scale * x[i];
            }
        }

        @Override
        protected void cleanup(Context context) throws IOException, InterruptedException {
            context.write(new IntWritable(0), new Text(format(gradient)));
        }
    }

    public static class SumReducer extends Reducer<IntWritable, Text, IntWritable, Text> {
        @Override
        public void reduce(IntWritable key, Iterable<Text> values, Context context)
                throws IOException, InterruptedException {
            double[] sum = null;
            for (Text value : values) {
                double[] v = parse(value.toString());
                if (sum == null) {
                    sum = v;
                } else {
                    for (int i = 0; i < v.length; i++) {
                        sum[i] += v[i];
                    }
                }
            }
            context.write(key, new Text(format(sum)));
        }
    }

    static double[] readGradient(FileSystem fs, Path output) throws IOException {
        Path part = new Path(output, "part-r-00000");
        try (BufferedReader in = new BufferedReader(
                new InputStreamReader(fs.open(part), StandardCharsets.UTF_8))) {
            String line = in.readLine();
            return parse(line.substring(line.indexOf('\t') + 1));
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 8) {
            System.err.println("usage: LogisticRegression INPUT OUTPUT RUNS CORES SPLIT_BYTES "
                    + "T0_MILLIS ITERATIONS W0");
            System.exit(2);
        }
        Path input = new Path(args[0]);
        Path output = new Path(args[1]);
        int runs = Integer.parseInt(args[2]);
        int cores = Integer.parseInt(args[3]);
        long splitBytes = Long.parseLong(args[4]);
        long t0 = Long.parseLong(args[5]);
        int iterations = Integer.parseInt(args[6]);
        double[] w0 = parse(args[7]);
        Configuration conf = WordCount.localConf(cores, splitBytes, args[1] + "-tmp");
        FileSystem fs = FileSystem.get(conf);
        System.out.println("BENCH startup " + (System.currentTimeMillis() - t0) / 1000.0);
        for (int run = 0; run < runs; run++) {
            double[] w = w0.clone();
            long start = System.nanoTime();
            for (int i = 0; i < iterations; i++) {
                long began = System.nanoTime();
                fs.delete(output, true);
                conf.set("lr.w", format(w));
                Job job = Job.getInstance(conf, "logistic-regression-" + i);
                job.setJarByClass(LogisticRegression.class);
                job.setMapperClass(GradientMapper.class);
                job.setReducerClass(SumReducer.class);
                job.setOutputKeyClass(IntWritable.class);
                job.setOutputValueClass(Text.class);
                job.setNumReduceTasks(1);
                FileInputFormat.addInputPath(job, input);
                FileOutputFormat.setOutputPath(job, output);
                if (!job.waitForCompletion(false)) {
                    System.err.println("LogisticRegression job " + i + " failed");
                    System.exit(1);
                }
                double[] gradient = readGradient(fs, output);
                for (int d = 0; d < w.length; d++) {
                    w[d] -= gradient[d];
                }
                System.out.println("BENCH iteration " + (System.nanoTime() - began) / 1e9);
            }
            System.out.println("BENCH job " + (System.nanoTime() - start) / 1e9);
            System.out.println("BENCH w " + format(w));
        }
    }
}
