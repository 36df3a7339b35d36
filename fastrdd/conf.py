"""SparkConf: the driver's key/value configuration, as in PySpark."""

import re

__all__ = ["SparkConf", "redact"]

#: settings whose values the UI and the event log hide (``spark.redaction.regex``)
DEFAULT_REDACTION = r"(?i)secret|password|token|access[.]?key|credential"


class SparkConf:
    """Configuration for a fastrdd application, with PySpark's methods.

    >>> conf = SparkConf().setMaster("local[2]").setAppName("demo")
    >>> conf.get("spark.master")
    'local[2]'
    >>> conf.set("spark.default.parallelism", 4).get("spark.default.parallelism")
    '4'
    >>> conf.contains("spark.app.name")
    True
    >>> conf.get("missing.key", "fallback")
    'fallback'
    """

    def __init__(self, loadDefaults=True, _jvm=None, _jconf=None):
        self._conf = {}

    def set(self, key, value):
        """Set a configuration property (values are kept as strings).

        >>> SparkConf().set("spark.executor.memory", 2).get("spark.executor.memory")
        '2'
        """
        self._conf[str(key)] = str(value)
        return self

    def setIfMissing(self, key, value):
        """Set a configuration property if it is not already set.

        >>> conf = SparkConf().set("a", "1")
        >>> conf.setIfMissing("a", "2").setIfMissing("b", "3").getAll()
        [('a', '1'), ('b', '3')]
        """
        if key not in self._conf:
            self.set(key, value)
        return self

    def setMaster(self, value):
        """Set the master URL to connect to.

        >>> SparkConf().setMaster("local[4]").get("spark.master")
        'local[4]'
        """
        return self.set("spark.master", value)

    def setAppName(self, value):
        """Set the application name.

        >>> SparkConf().setAppName("My app").get("spark.app.name")
        'My app'
        """
        return self.set("spark.app.name", value)

    def setSparkHome(self, value):
        """Set the path where Spark is installed on worker nodes.

        >>> SparkConf().setSparkHome("/opt/spark").get("spark.home")
        '/opt/spark'
        """
        return self.set("spark.home", value)

    def setExecutorEnv(self, key=None, value=None, pairs=None):
        """Set environment variables passed to worker processes.

        >>> conf = SparkConf().setExecutorEnv("VAR1", "value1")
        >>> conf.setExecutorEnv(pairs=[("VAR3", "value3"), ("VAR4", "value4")]).getAll()
        [('spark.executorEnv.VAR1', 'value1'), ('spark.executorEnv.VAR3', 'value3'), ('spark.executorEnv.VAR4', 'value4')]
        """
        if (key is not None and pairs is not None) or (key is None and pairs is None):
            raise ValueError("Either pass one key-value pair or a list of pairs")
        for k, v in [(key, value)] if key is not None else pairs:
            self.set("spark.executorEnv." + k, v)
        return self

    def setAll(self, pairs):
        """Set several configuration properties from a list of key-value pairs.

        >>> SparkConf().setAll([("a", 1), ("b", "two")]).getAll()
        [('a', '1'), ('b', 'two')]
        """
        for k, v in pairs:
            self.set(k, v)
        return self

    def get(self, key, defaultValue=None):
        """Get the value of a property, or ``defaultValue`` if it is not set.

        >>> conf = SparkConf().set("spark.app.name", "demo")
        >>> conf.get("spark.app.name")
        'demo'
        >>> conf.get("spark.missing", "default")
        'default'
        >>> conf.get("spark.missing") is None
        True
        """
        return self._conf.get(key, defaultValue)

    def getAll(self):
        """Get all set properties as a list of key-value pairs.

        >>> SparkConf().set("x", 1).set("y", 2).getAll()
        [('x', '1'), ('y', '2')]
        """
        return list(self._conf.items())

    def contains(self, key):
        """Whether the property ``key`` is set.

        >>> conf = SparkConf().set("x", 1)
        >>> conf.contains("x"), conf.contains("y")
        (True, False)
        """
        return key in self._conf

    def toDebugString(self):
        """The properties, one ``key=value`` per line, sorted by key.

        >>> print(SparkConf().setAppName("demo").setMaster("local").toDebugString())
        spark.app.name=demo
        spark.master=local
        """
        return "\n".join(f"{k}={v}" for k, v in sorted(self._conf.items()))

    def copy(self):
        """A copy of this configuration: changing one does not change the other.

        >>> conf = SparkConf().set("x", 1)
        >>> other = conf.copy().set("x", 2)
        >>> conf.get("x"), other.get("x")
        ('1', '2')
        """
        other = SparkConf()
        other._conf = dict(self._conf)
        return other


def redact(pairs):
    """Settings as a dict, with secrets (keys, passwords, tokens) shown as ``*********(redacted)``.

    >>> redact([("spark.hadoop.fs.s3a.secret.key", "abc"), ("spark.app.name", "x")])
    {'spark.hadoop.fs.s3a.secret.key': '*********(redacted)', 'spark.app.name': 'x'}
    """
    pairs = list(pairs)
    pattern = re.compile(dict(pairs).get("spark.redaction.regex", DEFAULT_REDACTION))
    return {k: "*********(redacted)" if pattern.search(k) else v for k, v in pairs}
