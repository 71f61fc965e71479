# attack: unpickle a payload that calls os.system
# expect: import of 'pickle' is not allowed
import pickle

pickle.loads(b"cos\nsystem\n(S'id'\ntR.")
