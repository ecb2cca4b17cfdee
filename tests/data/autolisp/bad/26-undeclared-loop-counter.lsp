;; expect: undeclared-local
(defun c:NUM (/ ss)
  (setq ss (ssget) i 0)
  (repeat (sslength ss)
    (princ (ssname ss i))
    (setq i (1+ i)))
  (princ)
)
