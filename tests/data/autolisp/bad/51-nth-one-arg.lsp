;; expect: wrong-arity
(defun c:SECONDPT (/ pts)
  (setq pts (list (getpoint) (getpoint)))
  (princ (nth pts))
  (princ)
)
