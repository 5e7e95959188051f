"""The gallery's order: the curriculum, then any other example by file name.

sphinx-gallery takes the sort key by its import path (a class in conf.py
would make the configuration unpicklable, a warning under -W).
"""

CURRICULUM = [
    "perceptron_xor.py",
    "activations.py",
    "maxout.py",
    "regression.py",
    "optimizers.py",
    "learning_rate_schedules.py",
    "overfitting.py",
    "class_weight.py",
    "learning_curve.py",
    "cross_validation.py",
    "bfloat16.py",
    "onnx_export.py",
    "keras_workflow.py",
    "keras_sequential.py",
]


class CurriculumOrder:
    """Sort key of sphinx-gallery's ``within_subsection_order``.

    Parameters
    ----------
    src_dir : str
        The examples' folder (unused: the order is by file name).
    """

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        """Position in the curriculum, then the file name.

        Parameters
        ----------
        filename : str
            An example's file name.

        Returns
        -------
        key : tuple
            Sorts the curriculum first, in its order.
        """
        rank = CURRICULUM.index(filename) if filename in CURRICULUM else len(CURRICULUM)
        return (rank, filename)
