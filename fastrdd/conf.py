"""SparkConf: the driver's key/value configuration, as in PySpark."""

__all__ = ["SparkConf"]


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
        """Set a configuration property (values are kept as strings)."""
        self._conf[str(key)] = str(value)
        return self

    def setIfMissing(self, key, value):
        if key not in self._conf:
            self.set(key, value)
        return self

    def setMaster(self, value):
        return self.set("spark.master", value)

    def setAppName(self, value):
        return self.set("spark.app.name", value)

    def setSparkHome(self, value):
        return self.set("spark.home", value)

    def setExecutorEnv(self, key=None, value=None, pairs=None):
        """Set environment variables passed to worker processes."""
        if (key is not None and pairs is not None) or (key is None and pairs is None):
            raise ValueError("Either pass one key-value pair or a list of pairs")
        for k, v in [(key, value)] if key is not None else pairs:
            self.set("spark.executorEnv." + k, v)
        return self

    def setAll(self, pairs):
        for k, v in pairs:
            self.set(k, v)
        return self

    def get(self, key, defaultValue=None):
        return self._conf.get(key, defaultValue)

    def getAll(self):
        return list(self._conf.items())

    def contains(self, key):
        return key in self._conf

    def toDebugString(self):
        """The properties, one ``key=value`` per line, sorted by key."""
        return "\n".join(f"{k}={v}" for k, v in sorted(self._conf.items()))

    def copy(self):
        other = SparkConf()
        other._conf = dict(self._conf)
        return other
