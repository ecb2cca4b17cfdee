;; expect: common-lisp
(defvar *count* 0)
(defun c:BUMP ()
  (setq *count* (1+ *count*))
  (princ *count*)
  (princ)
)
