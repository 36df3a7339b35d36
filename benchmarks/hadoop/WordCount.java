// Word count as a Hadoop MapReduce job on the LocalJobRunner (on-disk shuffle).
//
//   java -cp CLASSES:JARS WordCount INPUT OUTPUT RUNS CORES SPLIT_BYTES T0_MILLIS
//
// The classic example: a tokenizing mapper emitting (word, 1), IntSumReducer as
// combiner and reducer, CORES map and reduce tasks running at once.  The job runs
// RUNS times in one JVM (start-up is timed once, apart).  Timings go to stdout as
// "BENCH startup S" and "BENCH job S" lines, read by benchmarks/hadoop_runner.py;
// the counts are left in OUTPUT/part-r-* (word TAB count) for it to check.
import java.io.IOException;
import java.util.StringTokenizer;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.IntWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.Job;
import org.apache.hadoop.mapreduce.Mapper;
import org.apache.hadoop.mapreduce.lib.input.FileInputFormat;
import org.apache.hadoop.mapreduce.lib.output.FileOutputFormat;
import org.apache.hadoop.mapreduce.lib.reduce.IntSumReducer;

public class WordCount {

    public static class TokenizerMapper extends Mapper<Object, Text, Text, IntWritable> {
        private static final IntWritable ONE = new IntWritable(1);
        private final Text word = new Text();

        @Override
        public void map(Object key, Text value, Context context)
                throws IOException, InterruptedException {
            // the same tokens as Python's str.split() on this ASCII text
            StringTokenizer tokens = new StringTokenizer(value.toString());
            while (tokens.hasMoreTokens()) {
                word.set(tokens.nextToken());
                context.write(word, ONE);
            }
        }
    }

    /** A configuration for the LocalJobRunner on the local file system. */
    static Configuration localConf(int cores, long splitBytes, String tmp) {
        Configuration conf = new Configuration();
        conf.set("mapreduce.framework.name", "local");
        conf.set("fs.defaultFS", "file:///");
        conf.set("hadoop.tmp.dir", tmp);
        conf.setInt("mapreduce.local.map.tasks.maximum", cores);
        conf.setInt("mapreduce.local.reduce.tasks.maximum", cores);
        conf.setLong("mapreduce.input.fileinputformat.split.maxsize", splitBytes);
        // waitForCompletion() polls every 5 s by default: an idle wait of up to 5 s per
        // job that has nothing to do with MapReduce's own cost, so poll every 10 ms
        conf.setInt("mapreduce.client.completion.pollinterval", 10);
        return conf;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: WordCount INPUT OUTPUT RUNS CORES SPLIT_BYTES T0_MILLIS");
            System.exit(2);
        }
        Path input = new Path(args[0]);
        Path output = new Path(args[1]);
        int runs = Integer.parseInt(args[2]);
        int cores = Integer.parseInt(args[3]);
        long splitBytes = Long.parseLong(args[4]);
        long t0 = Long.parseLong(args[5]);
        Configuration conf = localConf(cores, splitBytes, args[1] + "-tmp");
        FileSystem fs = FileSystem.get(conf);
        System.out.println("BENCH startup " + (System.currentTimeMillis() - t0) / 1000.0);
        for (int run = 0; run < runs; run++) {
            fs.delete(output, true);
            long start = System.nanoTime();
            Job job = Job.getInstance(conf, "wordcount");
            job.setJarByClass(WordCount.class);
            job.setMapperClass(TokenizerMapper.class);
            job.setCombinerClass(IntSumReducer.class);
            job.setReducerClass(IntSumReducer.class);
            job.setOutputKeyClass(Text.class);
            job.setOutputValueClass(IntWritable.class);
            job.setNumReduceTasks(cores);
            FileInputFormat.addInputPath(job, input);
            FileOutputFormat.setOutputPath(job, output);
            if (!job.waitForCompletion(false)) {
                System.err.println("WordCount job failed");
                System.exit(1);
            }
            System.out.println("BENCH job " + (System.nanoTime() - start) / 1e9);
        }
    }
}
